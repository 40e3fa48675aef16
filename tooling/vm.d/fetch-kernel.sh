#!/usr/bin/env bash
# fetch-kernel.sh SUITE DIR: downloads the kernel that linux-image-amd64 names in another Debian
# suite (bullseye's 5.10, bookworm-backports' newer one) into DIR, through a private apt state
# (nothing of the machine's apt configuration changes), and writes its release to DIR/version.
set -euo pipefail
suite="$1"
out="$2"
source "$(dirname "${BASH_SOURCE[0]}")/../private-apt.sh"
work="$(mktemp -d /tmp/corral-vm-kernel.XXXXXX)"
trap 'rm -rf "$work"' EXIT
private_apt "$suite" "$work"
# The suite's own linux-image-amd64, not one this machine has installed.
: >"$work/status"
apt_private+=(-o "Dir::State::status=$work/status")
# linux-image-amd64 depends on the versioned image package, whose name carries the release.
package="$(apt-cache "${apt_private[@]}" depends linux-image-amd64 |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)"
[ -n "$package" ] || {
  echo "fetch-kernel.sh: $suite has no linux-image-amd64 depending on a kernel package" >&2
  exit 1
}
(cd "$work/debs" && apt-get "${apt_private[@]}" -qq download "$package")
mkdir -p "$out"
mv "$work"/debs/*.deb "$out/"
echo "${package#linux-image-}" >"$out/version"
echo "kernel: $package from $suite"
