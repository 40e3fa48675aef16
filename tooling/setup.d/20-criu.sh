#!/usr/bin/env bash
# Installs CRIU 4.2 or newer from Debian forky into tooling/criu/prefix without changing the
# system. bookworm's criu 3.17 fails `criu check` on this kernel; trixie's 4.1.1 cannot dump an
# inet socket on Linux 6.16 and later (it asks for SO_PASSCRED, which those kernels refuse on
# them), so no TCP connection could be checkpointed. The packages (criu and everything it
# depends on, down to the C library) are fetched with apt through a private source list and
# state directory, unpacked with dpkg -x, and run through the prefix's own loader by
# tooling/criu/criu.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prefix="$repo/tooling/criu/prefix"
launcher="$repo/tooling/criu/criu"
arch_libdir="usr/lib/x86_64-linux-gnu"
suite=forky
minimum=4.2

# The installed one is kept when it works and is new enough.
installed="$("$launcher" --version 2>/dev/null | sed -n 's/^Version: *//p' || true)"
if [ -n "$installed" ] && [ "$(printf '%s\n%s\n' "$minimum" "$installed" | sort -V | head -n 1)" = "$minimum" ] &&
  "$launcher" check >/dev/null 2>&1; then
  echo "criu: $installed already works from $prefix"
  exit 0
fi

if [ "$(dpkg --print-architecture)" != amd64 ]; then
  echo "20-criu.sh: only amd64 is supported (the prefix layout is x86_64-linux-gnu)" >&2
  exit 1
fi

work="$(mktemp -d /tmp/corral-criu-apt.XXXXXX)"
trap 'rm -rf "$work"' EXIT
source "$repo/tooling/private-apt.sh"
private_apt "$suite" "$work"
# criu and the packages it needs to run, resolved from the suite itself so that a renamed
# library (a new soname) is followed.
mapfile -t packages < <(apt-cache "${apt_private[@]}" depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances criu | grep -v '^ ' | grep -v '^<' | sort -u)
(cd "$work/debs" && apt-get "${apt_private[@]}" -qq download "${packages[@]}")

rm -rf "$prefix.new"
mkdir -p "$prefix.new"
for deb in "$work/debs"/*.deb; do
  dpkg -x "$deb" "$prefix.new"
done
rm -rf "$prefix"
mv "$prefix.new" "$prefix"

missing="$("$prefix/$arch_libdir/ld-linux-x86-64.so.2" --library-path "$prefix/$arch_libdir" \
  --list "$prefix/usr/sbin/criu" | grep 'not found' || true)"
if [ -n "$missing" ]; then
  echo "20-criu.sh: libraries missing from the prefix:" >&2
  echo "$missing" >&2
  exit 1
fi

"$launcher" --version
if ! "$launcher" check; then
  echo "20-criu.sh: criu check failed through $launcher" >&2
  exit 1
fi
