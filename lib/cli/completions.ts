/**
 * `lttng-trig completions bash`: a bash completion script made from the CLI's own help:
 * the commands that `lttng-trig --help` lists, and the usage line and option table of
 * each one's `lttng-trig help COMMAND`, so that it cannot drift from them.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { type CommandContext, parseCommandArgs } from "./common.ts";

/** Usage line of `completions`. */
export const COMPLETIONS_USAGE = "lttng-trig completions bash";

/** Help of `completions`. */
export const COMPLETIONS_HELP = `Usage: ${COMPLETIONS_USAGE}

Print a bash completion script for lttng-trig on stdout. It completes the commands,
their options, OnAnyCoreDump and snapshot|stop for 'set', session names for -s (from
'lttng list'), trigger names for 'remove' (from 'lttng-trig list --json', asking the
daemon named by --run-dir if given), and directories for DIR options.

Install it for everyone:
  lttng-trig completions bash > /usr/share/bash-completion/completions/lttng-trig
or for yourself (bash-completion loads it on first use):
  mkdir -p ~/.local/share/bash-completion/completions
  lttng-trig completions bash > ~/.local/share/bash-completion/completions/lttng-trig
or in the current shell only:
  source <(lttng-trig completions bash)

Options:
  -h, --help   Show this help.
`;

/** One option of a command, as its help table or usage line names it. */
export interface OptionSpec {
  /** Its names: `-s`, `--session`. */
  names: string[];
  /** The value's placeholder (`SESSION`, `DIR`), or `undefined` for a flag. */
  value?: string;
}

/** What a command's help says it takes. */
export interface CommandSpec {
  /** Options from the usage line and the option tables. */
  options: OptionSpec[];
  /** Positional arguments of the usage line, in order: `OnAnyCoreDump`, `snapshot|stop`, `NAME`. */
  positionals: string[];
}

const OPTION_NAME = /^--?[A-Za-z0-9][A-Za-z0-9-]*$/;
/** A value placeholder of an option table: `DIR`, `MS`, `UID[,UID...]`. */
const PLACEHOLDER = /^[A-Z][A-Z0-9_]*(?:\[[^\]]*\])?$/;

/** Split `--name=VALUE`, `--name VALUE` or `--name` (in `text`) into an option. */
function optionFrom(text: string): OptionSpec | undefined {
  const m = /^(--?[A-Za-z0-9][A-Za-z0-9-]*)(?:[= ](\S+))?$/.exec(text.trim());
  if (m === null) return undefined;
  return m[2] === undefined ? { names: [m[1]] } : { names: [m[1]], value: m[2] };
}

/**
 * Read a command's options and positionals from its help: the `Usage:` line, and every
 * option table line (an indented line that starts with options, whose values are
 * placeholders), such as `  -s, --session=SESSION   Session to act on.`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHelp } from "./completions.ts";
 * const spec = parseHelp("Usage: lttng-trig remove [--run-dir=DIR] NAME\n\n  -h, --help  Help.\n");
 * assert.deepEqual(spec.positionals, ["NAME"]);
 * assert.deepEqual(spec.options.map((o) => o.names), [["-h", "--help"], ["--run-dir"]]);
 * ```
 */
export function parseHelp(help: string): CommandSpec {
  const options: OptionSpec[] = [];
  const byName = new Map<string, OptionSpec>();
  const add = (opt: OptionSpec) => {
    const known = opt.names.map((n) => byName.get(n)).find((o) => o !== undefined);
    if (known !== undefined) {
      for (const n of opt.names) {
        if (!known.names.includes(n)) known.names.push(n);
        byName.set(n, known);
      }
      known.value ??= opt.value;
      return;
    }
    options.push(opt);
    for (const n of opt.names) byName.set(n, opt);
  };

  // Option tables first: they pair short and long names ("-s, --session=SESSION").
  for (const line of help.split("\n")) {
    if (!/^\s+-[A-Za-z0-9-]/.test(line)) continue;
    // The option part: the leading "-x," and "--name[=PLACEHOLDER]" words (the
    // description follows after two spaces, or one when the option is long).
    const found: OptionSpec[] = [];
    for (const word of line.trim().split(/\s+/)) {
      const opt = optionFrom(word.replace(/,$/, ""));
      if (opt === undefined || (opt.value !== undefined && !PLACEHOLDER.test(opt.value))) break;
      found.push(opt);
    }
    // None: not an option table line, but an example such as "  --path=/var/crash".
    if (found.length === 0) continue;
    // "-s, --session=SESSION" is one option; "--ctrl-url=URL --data-url=URL" is two.
    const shortOnly = found.filter((o) => !o.names[0].startsWith("--"));
    const longs = found.filter((o) => o.names[0].startsWith("--"));
    if (shortOnly.length === 1 && longs.length === 1) {
      add({ names: [shortOnly[0].names[0], longs[0].names[0]], value: longs[0].value });
    } else {
      found.forEach(add);
    }
  }

  const usageLine = help.split("\n").find((l) => l.startsWith("Usage: "));
  const positionals: string[] = [];
  if (usageLine !== undefined) {
    const rest = usageLine.slice("Usage: ".length).trim().split(/\s+/).slice(2).join(" ");
    // Options anywhere, brackets nested or not: "[-s SESSION]", "[--socket [--run-dir=DIR]
    // | --facts]"; a value only when it is a placeholder.
    const optionRe =
      /(?:^|[[\s|])(--?[A-Za-z0-9][\w-]*)(?:[= ]([A-Z][A-Z0-9_]*(?:\[[^\]]*\])?)(?=[\]\s|]|$))?/g;
    for (const m of rest.matchAll(optionRe)) {
      add(m[2] === undefined ? { names: [m[1]] } : { names: [m[1]], value: m[2] });
    }
    // Positionals: the words outside every bracket.
    let depth = 0;
    let outside = "";
    for (const ch of rest) {
      if (ch === "[") depth++;
      else if (ch === "]") depth = Math.max(0, depth - 1);
      outside += depth === 0 && ch !== "]" ? ch : " ";
    }
    positionals.push(...outside.split(/\s+/).filter((w) => w !== "" && !w.startsWith("-")));
  }
  return { options, positionals };
}

/** What completes an option's value or a positional argument. */
function completerOf(placeholder: string, positional: boolean): string {
  if (!PLACEHOLDER.test(placeholder)) {
    // Literal words: OnAnyCoreDump, snapshot|stop, bash.
    return placeholder.split("|").join(" ");
  }
  const word = /^[A-Z]+/.exec(placeholder)?.[0] ?? "";
  if (positional) {
    return { NAME: "@triggers", COMMAND: "@commands" }[word] ?? "@none";
  }
  return {
    SESSION: "@sessions",
    DIR: "@dirs",
    PATH: "@files",
    FILE: "@files",
    POLICY: "every: once-after:",
  }[word] ?? "@none";
}

/**
 * The commands that the main help lists under `Commands:` (two-space indented names).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandsOfMainHelp } from "./completions.ts";
 * const help = "Usage: lttng-trig COMMAND\n\nCommands:\n  daemon  Run it.\n  set     Add.\n\nMore.\n";
 * assert.deepEqual(commandsOfMainHelp(help), ["daemon", "set"]);
 * ```
 */
export function commandsOfMainHelp(mainHelp: string): string[] {
  const section = mainHelp.split(/^Commands:$/m)[1] ?? "";
  const names: string[] = [];
  for (const line of section.split("\n").slice(1)) {
    if (line.trim() === "") break;
    const m = /^ {2}([a-z][a-z0-9-]*)(\s|$)/.exec(line);
    if (m !== null) names.push(m[1]);
  }
  return names;
}

function isSafe(word: string): boolean {
  return /^[A-Za-z0-9@:=|._ -]*$/.test(word);
}

function checkWord(word: string, what: string): string {
  if (!isSafe(word)) {
    throw new TypeError(`Cannot put ${what} "${word}" in a completion script`);
  }
  return word;
}

/** A bash command printing `words` (checked words: no quote) as they are; not echo,
 * which would take a leading "-n" for its own option. */
function say(words: string): string {
  return `printf '%s\\n' '${words}'`;
}

function caseArm(pattern: string, body: string): string {
  return `    ${JSON.stringify(pattern)}) ${body} ;;`;
}

/** Options of {@linkcode bashCompletionScript}. */
export interface BashCompletionOptions {
  /** The main help, whose option table gives the options before a command. */
  mainHelp?: string;
  /** The version named in the script's first line. @default "" */
  version?: string;
}

/**
 * The bash completion script for `commands` (name → help text). `help` is added as a
 * command that completes command names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bashCompletionScript } from "./completions.ts";
 * const script = bashCompletionScript({ list: "Usage: lttng-trig list [--json]\n" });
 * assert.match(script, /complete -F _lttng_trig lttng-trig/);
 * ```
 */
export function bashCompletionScript(
  commands: Record<string, string>,
  options: BashCompletionOptions = {},
): string {
  const version = options.version ?? "";
  const topLevel = parseHelp(options.mainHelp ?? "").options.flatMap((o) => o.names)
    .filter((n) => OPTION_NAME.test(n)).map((n) => checkWord(n, "option"));
  const names = [...Object.keys(commands), "help"];
  names.forEach((n) => checkWord(n, "command"));
  const optionArms: string[] = [];
  const valueArms: string[] = [];
  const positionalArms: string[] = [];
  for (const [name, help] of Object.entries(commands)) {
    const spec = parseHelp(help);
    const words: string[] = [];
    for (const opt of spec.options) {
      for (const n of opt.names) {
        if (!OPTION_NAME.test(n)) continue;
        const long = n.startsWith("--");
        words.push(opt.value !== undefined && long ? `${n}=` : n);
        if (opt.value !== undefined) {
          const completer = checkWord(completerOf(opt.value, false), "option value");
          valueArms.push(caseArm(`${name} ${n}`, say(completer)));
        }
      }
    }
    optionArms.push(caseArm(name, say(words.map((w) => checkWord(w, "option")).join(" "))));
    spec.positionals.forEach((p, i) => {
      // A literal word that a script could not hold as is completes to nothing.
      const completer = completerOf(p, true);
      positionalArms.push(caseArm(`${name} ${i}`, say(isSafe(completer) ? completer : "@none")));
    });
  }
  optionArms.push(caseArm("help", say("-h --help")));
  positionalArms.push(caseArm("help 0", say("@commands")));

  return `# bash completion for lttng-trig${version ? ` ${version}` : ""}
# Made by 'lttng-trig completions bash' from the commands' own help. Install with
#   lttng-trig completions bash > /usr/share/bash-completion/completions/lttng-trig
# or load it in the current shell with: source <(lttng-trig completions bash)

_lttng_trig_commands="${names.join(" ")}"

# The options of a command (a long option that takes a value ends with '=').
_lttng_trig_options() {
  case $1 in
${optionArms.join("\n")}
    *) ${say(topLevel.join(" "))} ;;
  esac
}

# What completes the value of option $2 of command $1; fails for an option without value.
_lttng_trig_value() {
  case "$1 $2" in
${valueArms.join("\n")}
    *) return 1 ;;
  esac
}

# What completes positional argument number $2 (from 0) of command $1.
_lttng_trig_positional() {
  case "$1 $2" in
${positionalArms.join("\n")}
    *) return 1 ;;
  esac
}

# Recording sessions, from the session daemon (never started for this).
_lttng_trig_sessions() {
  command lttng --no-sessiond list 2>/dev/null </dev/null |
    sed -n 's/^ *[0-9][0-9]*) \\([^ ]*\\).*/\\1/p'
}

# Trigger names, from the daemon: $1 is the lttng-trig being completed, then its
# --run-dir option if one was typed.
_lttng_trig_triggers() {
  local -a limit=()
  command -v timeout >/dev/null 2>&1 && limit=(timeout 5)
  "\${limit[@]}" "$1" list --json "\${@:2}" 2>/dev/null </dev/null |
    grep -o '[{,]"name":"[^"]*"' | sed 's/^."name":"//; s/"$//'
}

# Candidates of kind $1 that start with $2 (literal words: case-insensitive).
_lttng_trig_candidates() {
  local kind=$1 cur=$2 w
  case $kind in
    @none) ;;
    @sessions) compgen -W "$(_lttng_trig_sessions)" -- "$cur" ;;
    @triggers) compgen -W "$(_lttng_trig_triggers "$_lttng_trig_exe" "\${_lttng_trig_rundir[@]}")" -- "$cur" ;;
    @commands) compgen -W "$_lttng_trig_commands" -- "$cur" ;;
    @dirs) compgen -d -- "$cur" ;;
    @files) compgen -f -- "$cur" ;;
    *)
      for w in $kind; do
        [[ \${w,,} == "\${cur,,}"* ]] && printf '%s\\n' "$w"
      done
      ;;
  esac
}

# Set COMPREPLY to the candidates of kind $1 for $2, one per line (file names may
# hold spaces), with the readline options that suit them.
_lttng_trig_reply() {
  mapfile -t COMPREPLY < <(_lttng_trig_candidates "$1" "$2")
  case $1 in
    @dirs | @files) compopt -o filenames 2>/dev/null ;;
  esac
  [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
  return 0
}

_lttng_trig() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=
  ((COMP_CWORD > 0)) && prev=\${COMP_WORDS[COMP_CWORD - 1]}
  local cmd= w kind opt= val= prefix= i npos=0 endopts=
  local _lttng_trig_exe=\${COMP_WORDS[0]/#\\~/$HOME}
  local -a _lttng_trig_rundir=()
  COMPREPLY=()

  # The words before the cursor: the command, the positionals so far, --run-dir.
  # bash splits --opt=value into "--opt" "=" "value" when '=' is in COMP_WORDBREAKS.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ -z $endopts && $w == -* && $w != - ]]; then
      if [[ $w == -- ]]; then endopts=1; continue; fi
      local name=\${w%%=*} value=
      if [[ $w == *=* ]]; then
        value=\${w#*=}
      elif [[ \${COMP_WORDS[i + 1]} == = ]] && ((i + 1 < COMP_CWORD)); then
        i=$((i + 1))
        ((i + 1 < COMP_CWORD)) && { i=$((i + 1)); value=\${COMP_WORDS[i]}; }
      elif [[ -n $cmd ]] && _lttng_trig_value "$cmd" "$name" >/dev/null && ((i + 1 < COMP_CWORD)); then
        i=$((i + 1)); value=\${COMP_WORDS[i]}
      fi
      [[ $name == --run-dir && -n $value ]] && _lttng_trig_rundir=("--run-dir=\${value/#\\~/$HOME}")
    elif [[ -z $cmd ]]; then
      cmd=$w
    else
      npos=$((npos + 1))
    fi
  done

  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$(_lttng_trig_options '')" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$_lttng_trig_commands" -- "$cur")
    fi
    return 0
  fi

  # The value of an option: "--opt=val" (one word or three), or "-s val".
  if [[ $cur == = && $prev == --* ]]; then
    opt=$prev val=
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)) && [[ \${COMP_WORDS[COMP_CWORD - 2]} == --* ]]; then
    opt=\${COMP_WORDS[COMP_CWORD - 2]} val=$cur
  elif [[ -z $endopts && $cur == --*=* ]]; then
    opt=\${cur%%=*} val=\${cur#*=} prefix=\${cur%%=*}=
  elif [[ -z $endopts && $prev == -* ]] && kind=$(_lttng_trig_value "$cmd" "$prev"); then
    opt=$prev val=$cur
  fi
  if [[ -n $opt ]]; then
    kind=$(_lttng_trig_value "$cmd" "$opt") || return 0
    _lttng_trig_reply "$kind" "$val"
    [[ -n $prefix ]] && COMPREPLY=("\${COMPREPLY[@]/#/$prefix}")
    return 0
  fi

  if [[ -z $endopts && $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_lttng_trig_options "$cmd")" -- "$cur")
    [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
    return 0
  fi
  if kind=$(_lttng_trig_positional "$cmd" "$npos"); then
    _lttng_trig_reply "$kind" "$cur"
  fi
  return 0
}

complete -F _lttng_trig lttng-trig
`;
}

/** Run `completions`. */
export async function completionsCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(argv, {
    help: { type: "boolean", short: "h" },
  }, COMPLETIONS_USAGE);
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected the shell to complete for (bash), got ${positionals.length} argument(s)`,
      COMPLETIONS_USAGE,
    );
  }
  if (positionals[0] !== "bash") {
    throw new UsageError(
      `unsupported shell "${positionals[0]}": only bash is supported`,
      COMPLETIONS_USAGE,
    );
  }
  // main.ts imports this module: load it lazily. Its help is the one source of the
  // commands and their options, read as the user reads it.
  const { runCli, VERSION } = await import("./main.ts");
  const help = async (argv: string[]): Promise<string | undefined> => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    return await runCli(argv, { io, env: ctx.env }) === 0 ? `${lines.join("\n")}\n` : undefined;
  };
  const mainHelp = await help(["--help"]) ?? "";
  const commands: Record<string, string> = {};
  for (const name of commandsOfMainHelp(mainHelp)) {
    const text = await help(["help", name]);
    // An unknown topic gives the main help: keep a command's own help only.
    if (text?.startsWith(`Usage: lttng-trig ${name}`)) commands[name] = text;
  }
  const script = bashCompletionScript(commands, { mainHelp, version: VERSION });
  ctx.io.out(script.trimEnd());
  return 0;
}
