#!/usr/bin/env bash
# Builds the Debian package dist/lttng-trig_VERSION_ARCH.deb with dpkg-deb (VERSION from
# deno.json), for machines where `deno compile` cannot get Deno's runtime. It holds:
#   /usr/lib/lttng-trig           the launcher (bin/), main.ts, mod.ts, lib/, deno.json,
#                                 deno.lock, the pinned Deno (.tools/node_modules/@deno/…)
#                                 and Deno's cache of the npm packages (.tools/deno-dir),
#                                 all root's (postinst adds the transpiled modules);
#   /usr/bin/lttng-trig           a symlink to the launcher (which resolves it);
#   /usr/share/man/man1           the man pages of dist/man, gzipped;
#   /usr/share/bash-completion/completions/lttng-trig   `lttng-trig completions bash`;
#   /lib/systemd/system, /usr/lib/systemd/user          the units of dist/systemd;
# and the maintainer scripts of dist/debian (the package never takes core_pattern; its
# removal gives it back). See docs/SHIPPING.md.
#   bash scripts/deb.sh [-o DIR]        (DIR defaults to dist/)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

out="$root/dist"
while [ $# -gt 0 ]; do
  case $1 in
    -o | --output) [ $# -ge 2 ] || { echo "Error: $1 needs a DIR" >&2; exit 2; }; out=$2; shift 2 ;;
    -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "Error: unexpected argument \"$1\"" >&2
       echo "Usage: bash scripts/deb.sh [-o DIR]" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "Error: dpkg-deb is missing: apt-get install dpkg" >&2; exit 1; }

deno=$(bash "$root/scripts/setup.sh" --deno-only)
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
# The project's cache holds the npm packages that go into the package (fetched once, when
# missing) and lets the launcher below make the completion.
DENO_DIR="$root/.tools/deno-dir" "$deno" cache --quiet main.ts
version=$("$deno" eval 'console.log(JSON.parse(Deno.readTextFileSync("deno.json")).version)')
program_version=$(sed -n 's/^export const VERSION = "\(.*\)";$/\1/p' lib/cli/version.ts)
if [ "$version" != "$program_version" ]; then
  echo "Error: deno.json says version $version, lib/cli/version.ts says $program_version: make them agree" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)
case $arch in
  amd64) deno_pkg=linux-x64-glibc ;;
  arm64) deno_pkg=linux-arm64-glibc ;;
  *) echo "Error: no Deno for Debian architecture $arch" >&2; exit 1 ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/pkg"
lib="$pkg/usr/lib/lttng-trig"
install -d "$lib/bin" "$lib/.tools/node_modules/@deno/$deno_pkg" "$pkg/usr/bin" \
  "$pkg/usr/share/man/man1" "$pkg/usr/share/bash-completion/completions" \
  "$pkg/usr/share/doc/lttng-trig" "$pkg/lib/systemd/system" "$pkg/usr/lib/systemd/user" \
  "$pkg/usr/share/lintian/overrides" "$pkg/DEBIAN"

# The program: what main.ts runs (and mod.ts, the library), nothing of the tests.
cp -r lib main.ts mod.ts deno.json deno.lock "$lib/"
install -m 0755 bin/lttng-trig "$lib/bin/lttng-trig"
install -m 0755 "$deno" "$lib/.tools/node_modules/@deno/$deno_pkg/deno"
ln -s ../lib/lttng-trig/bin/lttng-trig "$pkg/usr/bin/lttng-trig"

# Deno's cache: the npm packages of deno.lock, as they are, from the project's cache (so
# nothing is ever downloaded: the launcher runs with --cached-only, and Deno resolves
# every package of the lock, the tests' fast-check included). The transpiled modules are
# made by postinst, as Python's .pyc are: Deno keys them by their path, which is
# /usr/lib/lttng-trig only once installed.
cache="$lib/.tools/deno-dir/npm/registry.npmjs.org"
mkdir -p "$cache"
for npm in $("$deno" eval 'for (const k of Object.keys(JSON.parse(Deno.readTextFileSync("deno.lock")).npm ?? {})) console.log(k.slice(0, k.lastIndexOf("@")))'); do
  [ -d "$root/.tools/deno-dir/npm/registry.npmjs.org/$npm" ] ||
    { echo "Error: npm package $npm is not in .tools/deno-dir: run 'bash scripts/setup.sh'" >&2; exit 1; }
  cp -r "$root/.tools/deno-dir/npm/registry.npmjs.org/$npm" "$cache/"
done

# Man pages, the completion, the units, the documentation.
for page in dist/man/*.[0-9]; do
  section=${page##*.}
  install -d "$pkg/usr/share/man/man$section"
  gzip -9n <"$page" >"$pkg/usr/share/man/man$section/$(basename "$page").gz"
done
bin/lttng-trig completions bash >"$pkg/usr/share/bash-completion/completions/lttng-trig"
install -m 0644 dist/systemd/lttng-trig.service dist/systemd/lttng-trig-install.service \
  "$pkg/lib/systemd/system/"
install -m 0644 dist/systemd/lttng-trig-user.service "$pkg/usr/lib/systemd/user/"
install -m 0644 dist/debian/copyright "$pkg/usr/share/doc/lttng-trig/copyright"
install -m 0644 dist/debian/lintian-overrides "$pkg/usr/share/lintian/overrides/lttng-trig"
# A native package's changelog, one entry for this version, dated by the last commit.
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf '%s\n' "lttng-trig ($version) unstable; urgency=medium" "" \
  "  * lttng-trig $version: see CHANGELOG.md of the sources for what changed." "" \
  " -- lttng-trig developers <lttng-trig@lists.example.org>  $date" |
  gzip -9n >"$pkg/usr/share/doc/lttng-trig/changelog.gz"

# Root's, writable by root only: what the kernel runs decides what runs as root.
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg" -type f -exec chmod 0644 {} +
chmod 0755 "$lib/bin/lttng-trig" "$lib/.tools/node_modules/@deno/$deno_pkg/deno"

install -m 0755 dist/debian/postinst dist/debian/prerm dist/debian/postrm "$pkg/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: lttng-trig
Version: $version
Architecture: $arch
Maintainer: lttng-trig developers <lttng-trig@lists.example.org>
Installed-Size: $size
Depends: lttng-tools, babeltrace2, elfutils, procps, zstd, libc6 (>= 2.27), libgcc-s1
Suggests: prometheus-node-exporter, systemd-coredump
Section: devel
Priority: optional
Description: crash-triggered flight recording for LTTng
 When any process dumps core, lttng-trig snapshots (or stops) the LTTng
 tracing sessions that asked for it, while the crashed process is held, so
 that its last events survive; it records each crash, its backtrace and
 where its snapshot went.
 .
 The package never changes core_pattern by itself: run 'lttng-trig install'
 to point the kernel at its notifier, and 'lttng-trig uninstall' to give the
 previous handler back (removing the package does that too).
EOF
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"

# Reproducible: every file dated by the last commit (dpkg-deb dates its members by
# SOURCE_DATE_EPOCH).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$out/lttng-trig_${version}_${arch}.deb"
# xz at level 1: a fifth of the size of the files (Deno is most of it), in seconds.
dpkg-deb --root-owner-group -Zxz -z1 --build "$pkg" "$deb" >/dev/null
echo "deb: built $deb ($(du -h "$deb" | cut -f1))" >&2
echo "$deb"
