#!/usr/bin/env bash
# run.sh [OPTIONS] -- CMD...: boots the test VM (building its image first if needed), runs CMD
# as root in this checkout inside it, streams CMD's stdout and stderr, and exits with CMD's
# status. The checkout (and the toolchain, where .toolchain links outside it) is shared with the
# guest over 9p at the same path. The disk is a snapshot: nothing the guest writes reaches the
# image. qemu, its temporary files and the run directory are gone when this returns, also when
# CMD outlives --timeout (status 124) or the guest dies without reporting one (status 125).
#
# Options: --kernel SUITE, --timeout SECONDS (1800), --memory MIB (3072), --cpus N (2),
# --env NAME=VALUE (repeatable), --console (the guest's console on stderr as it boots).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

kernel=""
timeout_s=1800
memory=3072
cpus=2
console=0
envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel="${2:?}"; shift 2 ;;
    --timeout) timeout_s="${2:?}"; shift 2 ;;
    --memory) memory="${2:?}"; shift 2 ;;
    --cpus) cpus="${2:?}"; shift 2 ;;
    --env)
      [[ "${2:-}" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env takes NAME=VALUE, got \"${2:-}\""
      envs+=("$2")
      shift 2
      ;;
    --console) console=1; shift ;;
    --) shift; break ;;
    *) die "run: unknown option $1 (the command goes after --)" ;;
  esac
done
[ $# -gt 0 ] || die "run: no command (./tooling/vm run -- CMD...)"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || die "--timeout takes whole seconds, got \"$timeout_s\""
[ "$(id -u)" -eq 0 ] || die "run runs as root (qemu shares the checkout with root's ids)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing: run ./tooling/setup"

images="$(kernel_dir "$kernel")"
if [ ! -e "$images/ready" ]; then
  bash "$vm_dir/build.sh" ${kernel:+--kernel "$kernel"} >&2
fi

# Marks the image as in use, so builds of other recipes keep it.
touch "$images/ready"
run="$(mktemp -d /tmp/corral-vm-run.XXXXXX)"
qemu_pid=""
console_pid=""
readers=()
cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill -TERM "$qemu_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  # The output readers end when qemu closes the FIFOs; one still blocked on open does not.
  for pid in "${readers[@]}" ${console_pid:-}; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The guest mounts each share at the host's own path, so symlinks and absolute paths agree.
shares=("$repo")
toolchain="$(readlink -f "$repo/.toolchain" 2>/dev/null || true)"
if [ -n "$toolchain" ] && [ -d "$toolchain" ] && [[ "$toolchain/" != "$repo/"* ]]; then shares+=("$toolchain"); fi

{
  echo 'set -e'
  echo 'modprobe -a 9p 9pnet_virtio'
  for i in "${!shares[@]}"; do
    printf 'mkdir -p %q\n' "${shares[$i]}"
    printf 'mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose corral%d %q\n' "$i" "${shares[$i]}"
  done
  echo 'set +e'
  printf 'cd %q\n' "$repo"
  echo 'export HOME=/root LANG=C.UTF-8 CORRAL_TEST_VM=1'
  # The project's Node and pnpm first on PATH, as ./tooling/pnpm has them.
  echo '[ -f tooling/toolchain.sh ] && source tooling/toolchain.sh'
  for env in "${envs[@]}"; do printf 'export %q\n' "$env"; done
  printf 'exec'
  printf ' %q' "$@"
  echo
} >"$run/job"

mkfifo "$run/stdout" "$run/stderr"
: >"$run/status"
cat "$run/stdout" &
readers+=($!)
cat "$run/stderr" >&2 &
readers+=($!)

qemu=(qemu-system-x86_64 -accel tcg -cpu max -smp "$cpus" -m "$memory"
  -machine q35 -display none -no-reboot -nodefaults -nic none
  -kernel "$images/vmlinuz" -initrd "$images/initrd.img"
  -append "console=ttyS0 root=/dev/vda rw quiet loglevel=3 panic=-1 systemd.show_status=0 mitigations=off"
  -drive "file=$images/disk.img,format=raw,if=virtio,snapshot=on,cache=unsafe"
  -serial "file:$run/console"
  -fw_cfg "name=opt/corral/job,file=$run/job"
  -device virtio-serial-pci
  -chardev "file,id=out,path=$run/stdout" -device virtserialport,chardev=out,name=corral.stdout
  -chardev "file,id=err,path=$run/stderr" -device virtserialport,chardev=err,name=corral.stderr
  -chardev "file,id=status,path=$run/status" -device virtserialport,chardev=status,name=corral.status
  -device virtio-rng-pci)
for i in "${!shares[@]}"; do
  qemu+=(-fsdev "local,id=fs$i,path=${shares[$i]},security_model=passthrough,multidevs=remap"
    -device "virtio-9p-pci,fsdev=fs$i,mount_tag=corral$i")
done

# qemu's snapshot overlay goes to TMPDIR and is unlinked as soon as it is made.
TMPDIR="$run" "${qemu[@]}" </dev/null >"$run/qemu.log" 2>&1 &
qemu_pid=$!
if [ "$console" = 1 ]; then
  tail -n +1 -F "$run/console" >&2 2>/dev/null &
  console_pid=$!
fi

timed_out=0
deadline=$((SECONDS + timeout_s))
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    timed_out=1
    break
  fi
  sleep 0.5
done
if [ "$timed_out" = 1 ]; then
  kill -TERM "$qemu_pid" 2>/dev/null || true
fi
qemu_status=0
wait "$qemu_pid" || qemu_status=$?
qemu_pid=""
if [ -n "$console_pid" ]; then
  sleep 0.2
  kill "$console_pid" 2>/dev/null || true
fi
# What the guest wrote is out before the verdict.
for pid in "${readers[@]}"; do wait "$pid" 2>/dev/null || true; done
readers=()

status="$(tr -dc '0-9' <"$run/status")"
if [ "$timed_out" = 1 ]; then
  echo "tooling/vm: the command did not finish within ${timeout_s} s; the guest was stopped" >&2
  tail -n 20 "$run/console" >&2 || true
  exit 124
fi
if [ -z "$status" ]; then
  if grep -q 'Kernel panic' "$run/console" 2>/dev/null; then
    echo "tooling/vm: the guest's kernel panicked:" >&2
  else
    echo "tooling/vm: the guest stopped without reporting the command's status (qemu exited $qemu_status):" >&2
  fi
  tail -n 30 "$run/console" >&2 || true
  tail -n 5 "$run/qemu.log" >&2 || true
  exit 125
fi
exit "$status"
