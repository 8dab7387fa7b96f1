#!/usr/bin/env bash
# Builds ./lttng-trig, one self-contained executable of main.ts (`deno compile`), with the
# permission set "lttng-trig" of deno.json embedded in it: the same set, from the same
# place, that bin/lttng-trig runs with (`-P=lttng-trig --config deno.json`; the compiled
# binary takes no permission flags of its own and never prompts).
#
#   bash scripts/compile.sh [-o FILE] [--target TRIPLE]      (or: deno task compile)
#
# deno compile joins the program to Deno's runtime-only binary, denort, which it
# downloads once per Deno version and target from Deno's release server into
# DENO_DIR (.tools/deno-dir here). Offline, point DENORT_BIN at a denort binary of the
# same Deno version (2.9.6) and target. See docs/SHIPPING.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

out="$root/lttng-trig"
target=()
while [ $# -gt 0 ]; do
  case $1 in
    -o | --output) [ $# -ge 2 ] || { echo "Error: $1 needs a FILE" >&2; exit 2; }; out=$2; shift 2 ;;
    --output=*) out=${1#*=}; shift ;;
    --target) [ $# -ge 2 ] || { echo "Error: --target needs a TRIPLE" >&2; exit 2; }; target=(--target "$2"); shift 2 ;;
    --target=*) target=("$1"); shift ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "Error: unexpected argument \"$1\"" >&2
       echo "Usage: bash scripts/compile.sh [-o FILE] [--target TRIPLE]" >&2; exit 2 ;;
  esac
done

# Only Deno is needed to compile (not LTTng): the pinned one, installed when missing.
deno=$(bash "$root/scripts/setup.sh" --deno-only)
version=$("$deno" --version | sed -n 's/^deno \([0-9.]*\).*/\1/p')
export DENO_DIR="$root/.tools/deno-dir" DENO_NO_UPDATE_CHECK=1

if [ -n "${DENORT_BIN:-}" ] && { [ ! -f "$DENORT_BIN" ] || [ ! -x "$DENORT_BIN" ]; }; then
  echo "Error: DENORT_BIN is \"$DENORT_BIN\", which is not an executable file: point it at the denort binary of Deno $version (unzipped from denort-<target>.zip of the release), or unset it to download it" >&2
  exit 1
fi

# --no-code-cache: a compiled Deno program otherwise keeps a V8 code cache at a fixed
#   path in the temporary directory (/tmp/deno-compile-lttng-trig.cache), which the
#   notifier, run by the kernel as root on every crash, would load: a file that any
#   local user can create first. The launcher's cache is in the project instead.
# --exclude-unused-npm: embed picomatch only, not the test-only fast-check.
# --no-prompt: as the launcher, never ask for a permission: fail.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
NO_COLOR=1 "$deno" compile --no-prompt --no-code-cache --exclude-unused-npm \
  --config "$root/deno.json" -P=lttng-trig "${target[@]}" \
  --output "$out" "$root/main.ts" >"$log" 2>&1
rc=$?
set -e
# Deno warns that permission sets in deno.json are experimental: known, and not news.
grep -v 'Permissions in the config file is an experimental feature' "$log" >"$log.shown" || true
mv "$log.shown" "$log"

if [ "$rc" -ne 0 ]; then
  if grep -qiE 'denort|dl\.deno\.land|Setting up base binary' "$log"; then
    # The runtime could not be had. Say so plainly instead of Deno's error chain.
    cause=$(sed '/^Stack backtrace:/,$d' "$log" | grep -E '^\s*[0-9]+: ' | tail -n 1 |
      sed -E 's/^\s*[0-9]+: //')
    if [ -n "${DENORT_BIN:-}" ]; then
      echo "Error: deno compile could not use DENORT_BIN=$DENORT_BIN as Deno's runtime (denort): give it the denort binary of Deno $version for this target${cause:+ (deno said: $cause)}" >&2
    else
      echo "Error: deno compile needs Deno's runtime (denort), which could not be downloaded: on a connected machine run 'deno task compile' (it keeps denort in .tools/deno-dir for the next builds); or set DENORT_BIN to a denort binary (Deno $version, unzipped from denort-<target>.zip)${cause:+ (deno said: $cause)}" >&2
    fi
    exit 1
  fi
  cat "$log" >&2
  exit "$rc"
fi
cat "$log" >&2
# Show what was embedded, read back from the binary's metadata (one JSON object).
perms=$(grep -a -o '"permissions":{[^}]*}' "$out" | head -n 1 || true)
echo "compile: built $out (Deno $version), permissions embedded from deno.json \"lttng-trig\":" >&2
echo "  ${perms:-(not found in the metadata of the binary)}" >&2
