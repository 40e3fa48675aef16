#!/usr/bin/env bash
# kernel-matrix.sh [KERNEL...]: the core system tests (lifecycle, namespaces, mounts, seccomp,
# exec, id-mapped mounts, checkpoint) inside the test VM, once on each kernel: "default" is
# Debian 12's own, any other name a Debian suite whose linux-image-amd64 the guest boots
# (tooling/vm build --kernel). Prints each kernel's result and exits non-zero if one failed.
# Not part of `test`: a kernel's run takes several minutes of emulation.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
kernels=("$@")
[ "${#kernels[@]}" -gt 0 ] || kernels=(default bullseye bookworm-backports)
files=(packages/core/test/system/{lifecycle,namespaces,run,seccomp,idmap,checkpoint}.test.ts)
failed=0
results=()
for kernel in "${kernels[@]}"; do
  args=()
  [ "$kernel" = default ] || args=(--kernel "$kernel")
  echo "==> kernel $kernel"
  started=$SECONDS
  ./tooling/vm run "${args[@]}" --timeout 3000 -- bash -c \
    'echo "Linux $(uname -r)"; exec node_modules/.bin/vitest run --project system "$@"' sh "${files[@]}"
  status=$?
  [ "$status" -eq 0 ] || failed=1
  results+=("$kernel: $([ "$status" -eq 0 ] && echo passed || echo "failed ($status)") in $((SECONDS - started)) s")
done
printf '\n%s\n' "${results[@]}"
exit "$failed"
