#!/usr/bin/env bash
# Installs what lttng-trig needs when it is missing, and nothing else:
#   - Deno 2.9.6 from the npm registry into .tools/ (git-ignored; no package.json at the
#     repository root, which would change how Deno resolves npm: specifiers);
#   - LTTng (lttng-tools, liblttng-ust-dev, liblttng-ctl-dev) and babeltrace2 from Debian;
#   - gcc, used by the tests and the demo to build a small crashing program;
#   - elfutils (eu-stack), which computes the backtraces of a kept core, and zstd, which
#     decompresses another user's kept core as that user for their report;
#   - systemd-analyze (Debian's systemd), which tests/cli/systemd_test.ts runs on the units
#     of dist/systemd (it only reads them: nothing is started), and groff (groff-base),
#     with which tests/cli/man_test.ts checks the man pages of dist/man;
#   - for the tests only: prometheus-node-exporter (tests/e2e/metrics_test.ts) and
#     lintian (tests/e2e/deb_test.ts);
# then warms Deno's cache in .tools/deno-dir, so that the notifier, which the kernel runs
# with an empty environment, never downloads or transpiles anything at crash time.
# Safe to run again: each step is skipped when already done.
#   bash scripts/setup.sh [--deno-only | --tests]
#     --deno-only: Deno alone (e.g. to compile); --tests: also what only the tests use.
# Prints the path of the Deno binary on stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DENO_VERSION=2.9.6
deno_only=false
tests=false
[ "${1:-}" = --deno-only ] && deno_only=true
[ "${1:-}" = --tests ] && tests=true

case $(uname -m) in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "Error: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
deno="$root/.tools/node_modules/@deno/linux-$arch-glibc/deno"

say() { printf 'setup: %s\n' "$*" >&2; }

if [ ! -x "$deno" ] || ! "$deno" --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  command -v npm >/dev/null || { echo "Error: npm is needed to install Deno: install Node.js and npm" >&2; exit 1; }
  say "installing Deno $DENO_VERSION from npm into .tools/"
  mkdir -p "$root/.tools"
  [ -f "$root/.tools/package.json" ] || echo '{"private": true}' > "$root/.tools/package.json"
  npm install --prefix "$root/.tools" --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" >&2
  # The npm package's postinstall is not needed: the binary ships in @deno/linux-*.
  [ -x "$deno" ] || { echo "Error: Deno was not installed at $deno" >&2; exit 1; }
fi

if $deno_only; then
  echo "$deno"
  exit 0
fi

need=()
command -v lttng >/dev/null || need+=(lttng-tools)
command -v lttng-sessiond >/dev/null || need+=(lttng-tools)
command -v babeltrace2 >/dev/null || need+=(babeltrace2)
[ -e /usr/include/lttng/lttng.h ] || need+=(liblttng-ctl-dev)
ls /usr/lib/*/liblttng-ust-libc-wrapper.so.1 >/dev/null 2>&1 || need+=(liblttng-ust-dev)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
# eu-stack: the crash report's backtraces (lib/report/backtrace.ts).
command -v eu-stack >/dev/null || need+=(elfutils)
# zstd: another user's report decompresses their core as them (lib/daemon/report_core.ts).
command -v zstd >/dev/null || need+=(zstd)
# sysctl: install/uninstall/status read and write /proc/sys through it (Deno opens
# nothing under /proc without --allow-all).
command -v sysctl >/dev/null || [ -x /usr/sbin/sysctl ] || [ -x /sbin/sysctl ] || need+=(procps)
if $tests; then
  command -v systemd-analyze >/dev/null || need+=(systemd)
  command -v groff >/dev/null || need+=(groff-base)
  # systemd-coredump: tests/e2e/chain_test.ts chains lttng-trig to it. Its package
  # rewrites core_pattern, core_pipe_limit and fs.suid_dumpable when installed: they
  # are put back below.
  [ -x /lib/systemd/systemd-coredump ] || need+=(systemd-coredump)
  # systemd-journal-remote: tests/e2e/journal_test.ts forwards a crash's journal entry
  # with systemd-journal-upload to a systemd-journal-remote on 127.0.0.1 (docs/FLEET.md).
  [ -x /lib/systemd/systemd-journal-remote ] || need+=(systemd-journal-remote)
  # prometheus-node-exporter: tests/e2e/metrics_test.ts starts its own node_exporter (on
  # 127.0.0.1, a free port, a directory of its own) and scrapes the daemon's metrics. The
  # package's own service is neither needed nor used by the tests.
  [ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
  # lintian: tests/e2e/deb_test.ts checks the Debian package of scripts/deb.sh with it.
  command -v lintian >/dev/null || need+=(lintian)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Error: missing Debian packages ${need[*]}: install them as root (apt-get install ${need[*]})" >&2
    exit 1
  fi
  say "installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  # Installing systemd-coredump rewrites these kernel settings: give them back.
  saved=()
  for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/core_pipe_limit /proc/sys/fs/suid_dumpable; do
    saved+=("$f=$(cat "$f" 2>/dev/null)")
  done
  restore() {
    local kv
    for kv in "${saved[@]}"; do
      [ -n "${kv#*=}" ] && printf '%s\n' "${kv#*=}" > "${kv%%=*}" 2>/dev/null || true
    done
  }
  trap restore EXIT
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  restore
  trap - EXIT
fi

export DENO_DIR="$root/.tools/deno-dir" DENO_NO_UPDATE_CHECK=1
# Populate the cache for every entry point (npm packages included).
(cd "$root" && "$deno" cache --quiet main.ts mod.ts $(find tests scripts -name '*.ts' 2>/dev/null) >&2)
# Deno links node_compat_bin/node to the Deno that made it, for child processes that run
# node. In a cache copied from another tree that names a binary outside this one, which
# root would run and install rightly refuses: drop it (Deno makes it again if it needs it).
link="$DENO_DIR/node_compat_bin/node"
if [ -L "$link" ] && [ "$(readlink "$link")" != "$deno" ]; then rm -f "$link"; fi
echo "$deno"
