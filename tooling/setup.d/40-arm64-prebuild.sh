#!/usr/bin/env bash
# The linux-arm64 prebuild of @corral/native, cross-compiled on this machine: Debian's cross
# toolchain and arm64 libseccomp (multiarch, so the arm64 architecture is added to dpkg once),
# and qemu-user, which runs arm64 test binaries here. Builds every prebuild that is missing or
# older than its sources.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  echo "dpkg: arm64 added as a foreign architecture"
fi
packages=(crossbuild-essential-arm64 libseccomp-dev:arm64 qemu-user)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

source "$repo/tooling/toolchain.sh"
cd "$repo/packages/native"
node scripts/prebuild.mjs --stale
node scripts/prebuild.mjs --check
echo "prebuilds: $(ls prebuilds | tr '\n' ' ')"
