#!/usr/bin/env bash
# setup-root.sh ROOT RECIPE: turns the debootstrapped ROOT into the test guest: a systemd host
# that, once booted, runs the one command the host passed in (corral-vm-run) and powers off.
# Only what delays that or writes over its output is switched off.
set -euo pipefail
root="$1"
recipe="$2"
guest="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

echo corral-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 corral-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# The root is the kernel's root= and stays as it is mounted; nothing else is mounted by fstab.
echo '# the test VM: root is mounted by the kernel (root=/dev/vda rw)' >"$root/etc/fstab"
# What the tests check before they run, and which recipe built this image.
echo "$recipe" >"$root/etc/corral-test-vm"

# No login prompts: a getty on ttyS0 hangs up every descriptor of the console. Timers and
# services that start work nobody waits for only slow the emulated guest down.
systemctl --root="$root" --quiet mask \
  serial-getty@ttyS0.service getty@tty1.service \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer systemd-timesyncd.service systemd-update-utmp.service \
  modprobe@drm.service modprobe@efi_pstore.service modprobe@dm_mod.service modprobe@loop.service \
  sys-kernel-debug.mount sys-kernel-tracing.mount
# The peers' own daemons are started by the tests that need them, with their own state.
systemctl --root="$root" --quiet mask containerd.service podman.service podman.socket \
  podman-restart.service podman-auto-update.service podman-auto-update.timer podman-clean-transient.service

install -m 0755 "$guest/corral-vm-run" "$root/usr/local/sbin/corral-vm-run"
install -m 0644 "$guest/corral-vm-run.service" "$root/etc/systemd/system/corral-vm-run.service"
systemctl --root="$root" --quiet enable corral-vm-run.service

# A small initramfs: only what finds and mounts the root disk. Kernels installed later into a
# copy of this root get the same.
echo 'MODULES=list' >"$root/etc/initramfs-tools/conf.d/corral-vm"
printf 'virtio_pci\nvirtio_blk\next4\n' >"$root/etc/initramfs-tools/modules"

# podman as the peers' tests run it: no registry, no network, no journald for its events.
mkdir -p "$root/etc/containers"
cat >"$root/etc/containers/containers.conf" <<'CONF'
[containers]
netns = "none"
[network]
network_backend = "netavark"
[engine]
events_logger = "file"
CONF

