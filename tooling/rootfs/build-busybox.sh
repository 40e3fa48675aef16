#!/usr/bin/env bash
# Builds a busybox root filesystem: the static busybox and a link for every applet, and
# /bin/probe (probe.c beside this script), which tests run to see what a process sees.
# Usage: build-busybox.sh DIR   (DIR is replaced)
set -euo pipefail
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  busybox=/bin/busybox
fi
rm -rf "$out.tmp"
mkdir -p "$out.tmp"/{bin,dev,etc,proc,sys,tmp,root,home,var/tmp}
chmod 1777 "$out.tmp/tmp" "$out.tmp/var/tmp"
cp "$busybox" "$out.tmp/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$out.tmp/bin/$applet"
done
ln -s bin "$out.tmp/sbin"
cc -static -O2 -Wall -o "$out.tmp/bin/probe" "$here/probe.c"
mkdir -p "$out.tmp/usr"
ln -s ../bin "$out.tmp/usr/bin"
ln -s ../bin "$out.tmp/usr/sbin"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$out.tmp/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$out.tmp/etc/group"
rm -rf "$out"
mv "$out.tmp" "$out"
