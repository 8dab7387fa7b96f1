/**
 * lttng-trig's entry point: the only place that exits. The notifier is dispatched first
 * and loads only its own modules, since the kernel runs it on every crash.
 *
 * @module
 */
if (import.meta.main) {
  let code: number;
  if (Deno.args[0] === "notify") {
    const { notifyMain } = await import("./lib/notify/cli.ts");
    code = await notifyMain(Deno.args.slice(1));
  } else {
    const { runCli } = await import("./lib/cli/main.ts");
    code = await runCli(Deno.args);
  }
  Deno.exit(code);
}
