#!/usr/bin/env bash
# Builds the test VM's image: a Debian 12 root filesystem made by debootstrap from this
# machine's own Debian mirror (tooling/vm.d/packages on top of minbase), set up to run one
# command from the host and power off (tooling/vm.d/guest), written into an ext4 image with
# mkfs.ext4 -d (no loop device, nothing mounted outside the build directory), beside the kernel
# and initramfs it boots with.
#
#   build.sh                  the default image (bookworm's kernel)
#   build.sh --kernel SUITE   the same guest booting linux-image-amd64 of another Debian suite
#                             (bullseye, bookworm-backports, ...), installed into a copy of its root
#
# Idempotent: an image whose recipe (this file, the package list, the guest files) is unchanged
# is reused. Builds take a lock, so concurrent callers wait for one build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

kernel=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel)
      kernel="${2:?--kernel needs a Debian suite, such as bullseye or bookworm-backports}"
      shift 2
      ;;
    *) die "build: unknown option $1" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "build runs as root (debootstrap, chroot)"
[ -z "$kernel" ] || [[ "$kernel" =~ ^[a-z]+(-[a-z]+)?$ ]] || die "--kernel: \"$kernel\" is not a Debian suite name"
for tool in debootstrap mkfs.ext4 chroot flock; do
  command -v "$tool" >/dev/null || die "$tool is missing: run ./tooling/setup (tooling/setup.d/40-vm.sh installs it)"
done

# Another suite's kernel goes into a copy of the default image's root: that first.
if [ -n "$kernel" ]; then bash "${BASH_SOURCE[0]}"; fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9

base="$(image_dir)"
target="$(kernel_dir "$kernel")"
if [ -e "$target/ready" ]; then
  echo "vm image: up to date in $target"
  exit 0
fi

work="$target.building"
# Whatever a failed or interrupted build left mounted in its directory goes, then the directory.
cleanup() {
  local mounts
  mounts="$(awk -v dir="$work/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r)"
  for mount in $mounts; do umount -l "$mount" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cleanup
mkdir -p "$work"
root="$work/rootfs"

# proc, sys and dev in the chroot, for package scripts that need them, and gone after.
in_chroot() {
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  local status=0
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@" || status=$?
  umount "$root/dev" "$root/sys" "$root/proc"
  return "$status"
}

# The ext4 image of $root, with room for what the tests write, and the kernel it boots.
make_image() {
  local version="$1" size_mib
  size_mib=$(($(du -sm "$root" | cut -f1) + 2048))
  mkfs.ext4 -q -L corral-vm -d "$root" "$work/disk.img" "${size_mib}M" >/dev/null
  cp "$root/boot/vmlinuz-$version" "$work/vmlinuz"
  cp "$root/boot/initrd.img-$version" "$work/initrd.img"
  echo "$version" >"$work/kernel-version"
}

started=$SECONDS
debootstrap_args="--variant=minbase"
if [ -z "$kernel" ]; then
  # debootstrap's result is kept on its own, keyed by the package list: a change to the guest's
  # setup alone starts from a copy of it instead of downloading and installing again.
  bootstrap="$cache_root/$suite-debootstrap-$( (echo "$debootstrap_args"; cat "$vm_dir/packages") | sha256sum | cut -c1-16)"
  if [ ! -e "$bootstrap/ready" ]; then
    mirror="$(debian_mirror)" || die "no Debian mirror configured"
    mapfile -t packages < <(grep -v '^\s*\(#\|$\)' "$vm_dir/packages")
    echo "vm image: debootstrap $suite from $mirror (${#packages[@]} packages on minbase)"
    mkdir -p "$cache_root/debs"
    # shellcheck disable=SC2086
    debootstrap $debootstrap_args --cache-dir="$cache_root/debs" \
      --include="$(IFS=,; echo "${packages[*]}")" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
      tail -n 30 "$root/debootstrap/debootstrap.log" 2>/dev/null | grep -v '^I: ' >&2 || tail -n 30 "$work/debootstrap.log" >&2
      die "debootstrap failed"
    }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    rm -rf "$bootstrap"
    mkdir -p "$bootstrap"
    mv "$root" "$bootstrap/rootfs"
    touch "$bootstrap/ready"
    # Only the newest debootstrap result is worth keeping.
    find "$cache_root" -mindepth 1 -maxdepth 1 -name "$suite-debootstrap-*" ! -path "$bootstrap" -exec rm -rf {} +
  fi
  cp -a "$bootstrap/rootfs" "$root"
  bash "$vm_dir/guest/setup-root.sh" "$root" "$(recipe_hash)"
  # The initramfs again, now with the guest's module list (setup-root.sh): a small one boots
  # faster under emulation.
  version="$(basename "$(ls -d "$root"/lib/modules/* | sort -V | tail -n 1)")"
  in_chroot update-initramfs -u -k "$version" >/dev/null
  make_image "$version"
  # The finished root stays beside the image: kernels of other suites are installed into copies.
  mv "$root" "$work/root"
else
  [ -e "$base/ready" ] || die "the default image is missing from $base"
  echo "vm image: linux-image-amd64 of $kernel into a copy of $base"
  cp -a "$base/root" "$root"
  bash "$vm_dir/fetch-kernel.sh" "$kernel" "$work/kernel"
  cp "$work"/kernel/*.deb "$root/tmp/"
  in_chroot sh -c 'dpkg -i /tmp/*.deb && rm /tmp/*.deb' >"$work/dpkg.log" 2>&1 || {
    tail -n 30 "$work/dpkg.log" >&2
    die "installing the $kernel kernel failed"
  }
  version="$(cat "$work/kernel/version")"
  make_image "$version"
  rm -rf "$root"
fi
rm -f "$work"/*.log
touch "$work/ready"
rm -rf "$target"
mv "$work" "$target"
# Images of other recipes that no run has used for three days go (run.sh touches ready).
find "$cache_root" -mindepth 2 -maxdepth 2 -name ready -mtime +3 -path "$cache_root/$suite-*" \
  ! -path "$cache_root/$suite-debootstrap-*" -printf '%h\n' | xargs -r rm -rf
echo "vm image: kernel $version, built in $((SECONDS - started)) s: $target"
