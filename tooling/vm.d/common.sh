# What build.sh, run.sh and clean.sh share: where images are kept and which recipe made them.
# Sourced, not run.
vm_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$vm_dir/../.." && pwd)"
suite=bookworm
# Images are kept per machine, not per checkout: every worktree and a clean clone share them.
cache_root="${CORRAL_VM_CACHE:-/var/cache/corral/vm}"

die() {
  echo "tooling/vm: $*" >&2
  exit 1
}

# A hash of everything that decides what the image holds: a change to any of these files
# builds a new image beside the old one.
recipe_hash() {
  (cd "$vm_dir" && cat build.sh fetch-kernel.sh packages guest/* | sha256sum | cut -c1-16)
}

image_dir() {
  echo "$cache_root/$suite-$(recipe_hash)"
}

# The directory of a kernel's image: the default kernel's, or the one of linux-image-amd64 from
# another suite.
kernel_dir() {
  local kernel="${1:-}"
  if [ -z "$kernel" ]; then image_dir; else echo "$(image_dir)/kernels/$kernel"; fi
}

# debian_mirror and private_apt.
source "$repo/tooling/private-apt.sh"
