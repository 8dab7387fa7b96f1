/**
 * `lttng-trig completions bash`: a bash completion script made from the command registry:
 * every command's options (long and short, and which take a value), what completes each
 * value, and what completes each positional argument.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import type { CommandContext } from "./common.ts";
import {
  type CommandSpec,
  type Completer,
  HELP_OPTION,
  type OptionSpec,
  type ProgramSpec,
  usageLine,
} from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";

/** `completions`' options and arguments. */
export const COMPLETIONS_SPEC = {
  name: "completions",
  summary: "Print a bash completion script",
  description: [
    "Print a bash completion script for lttng-trig on stdout. It completes the commands, their options, OnAnyCoreDump and snapshot|stop for 'set', session names for -s (from 'lttng list'), trigger names for 'remove' (from 'lttng-trig list --json', asking the daemon named by --run-dir if given), and directories for DIR options.",
  ],
  positionals: [{
    name: "SHELL",
    help: "bash, the only shell supported.",
    complete: { words: ["bash"] },
  }],
  options: [HELP_OPTION],
  examples: [
    {
      text: "Install it for everyone:",
      commands: ["lttng-trig completions bash > /usr/share/bash-completion/completions/lttng-trig"],
    },
    {
      text: "or for yourself (bash-completion loads it on first use):",
      commands: [
        "mkdir -p ~/.local/share/bash-completion/completions",
        "lttng-trig completions bash > ~/.local/share/bash-completion/completions/lttng-trig",
      ],
    },
    { text: "or in the current shell only:", commands: ["source <(lttng-trig completions bash)"] },
  ],
  exitStatus: [[0, "printed"], [2, "usage error"]],
  files: [{
    path: "/usr/share/bash-completion/completions/lttng-trig",
    help: "Where packagers install the script.",
  }],
  seeAlso: ["bash(1)"],
} as const satisfies CommandSpec;

/** Usage line of `completions`. */
export const COMPLETIONS_USAGE = usageLine(COMPLETIONS_SPEC);

const OPTION_NAME = /^--?[A-Za-z0-9][A-Za-z0-9-]*$/;

/** The script's word for a completer: `@sessions`, or the literal words. */
function kindOf(completer: Completer | undefined): string {
  if (completer === undefined) return "@none";
  if (typeof completer === "object") return completer.words.join(" ");
  return `@${completer}`;
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

/** An option's names as completed: `-s`, `--session=` (a long option taking a value). */
function optionWords(o: OptionSpec): string[] {
  const words = [o.type === "string" ? `--${o.name}=` : `--${o.name}`];
  if (o.short !== undefined) words.unshift(`-${o.short}`);
  return words;
}

/**
 * The bash completion script for `program`'s commands (and `help`, which completes
 * command names).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bashCompletionScript } from "./completions.ts";
 * const list = {
 *   name: "list", summary: "", description: [], positionals: [], exitStatus: [],
 *   options: [{ name: "json", type: "boolean", help: "" }],
 * } as const;
 * const script = bashCompletionScript({
 *   name: "lttng-trig", version: "1", summary: "", description: [], options: [],
 *   commands: [list], exitStatus: [], files: [], environment: [], seeAlso: [],
 * });
 * assert.match(script, /"list"\) printf '%s\\n' '--json' ;;/);
 * ```
 */
export function bashCompletionScript(program: ProgramSpec): string {
  const version = checkWord(program.version, "version");
  const topLevel = program.options.flatMap((o) => optionWords(o).map((w) => w.replace(/=$/, "")))
    .map((n) => checkWord(n, "option"));
  const commands = program.commands.filter((c) => c.name !== "help");
  const names = [...commands.map((c) => c.name), "help"];
  names.forEach((n) => checkWord(n, "command"));
  const optionArms: string[] = [];
  const valueArms: string[] = [];
  const positionalArms: string[] = [];
  for (const spec of commands) {
    const words: string[] = [];
    for (const opt of spec.options) {
      for (const word of optionWords(opt)) {
        const n = word.replace(/=$/, "");
        if (!OPTION_NAME.test(n)) throw new TypeError(`Cannot complete option "${n}"`);
        words.push(checkWord(word, "option"));
        if (opt.type === "string") {
          valueArms.push(
            caseArm(`${spec.name} ${n}`, say(checkWord(kindOf(opt.complete), "value"))),
          );
        }
      }
    }
    optionArms.push(caseArm(spec.name, say(words.join(" "))));
    spec.positionals.forEach((p, i) => {
      positionalArms.push(
        caseArm(`${spec.name} ${i}`, say(checkWord(kindOf(p.complete), "positional"))),
      );
    });
  }
  optionArms.push(caseArm("help", say("-h --help")));
  positionalArms.push(caseArm("help 0", say("@commands")));

  return `# bash completion for lttng-trig ${version}
# Made by 'lttng-trig completions bash' from its command registry. Install with
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

/** Run `completions` for `program`'s commands. */
export function completionsCommand(
  argv: string[],
  ctx: CommandContext,
  program: ProgramSpec,
): Promise<number> {
  const { positionals } = parse(COMPLETIONS_SPEC, argv);
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
  ctx.io.out(bashCompletionScript(program).trimEnd());
  return Promise.resolve(0);
}
