#!/usr/bin/env bash
# The test VM (tooling/vm): qemu and debootstrap from Debian, then the guest image, which is
# cached per machine and rebuilt only when its recipe in tooling/vm.d changes. The guest's
# kernel is a package inside its own root, so the machine's /boot is left alone.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
packages=(qemu-system-x86 debootstrap e2fsprogs)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "vm: apt ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$repo/tooling/vm" build
