/**
 * lttng-trig's entry point: the one dispatcher, and the only place that exits. The
 * notifier is dispatched here, first, to lib/notify/cli.ts: the kernel runs it on every
 * crash, and it loads only its own modules, never the CLI (lib/cli) and its command
 * registry. Every other command goes to lib/cli/main.ts. Both are dynamic imports, loaded
 * lazily (deno.json `"unstable": ["lazy-dynamic-imports"]`): a crash loads nothing of
 * the CLI's graph.
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
