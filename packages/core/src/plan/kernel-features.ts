/**
 * What corral needs of the kernel, call by call: the call corral-init reports, what it does for
 * the container, and the Linux version that has it. corral-init falls back where runc and crun
 * do (mount(2) for mount_setattr's flags, /proc/self/fd for close_range's CLOSE_RANGE_CLOEXEC,
 * the v2 freezer for cgroup.kill); where there is no fallback, a missing call (ENOSYS) is
 * reported with this.
 */
export const KERNEL_FEATURES: Readonly<Record<string, { feature: string; since: string }>> = {
  openat2: { feature: 'openat2, which resolves every path inside the rootfs', since: '5.6' },
  open_tree: { feature: 'the new mount API (open_tree), which bind mounts use', since: '5.2' },
  move_mount: { feature: 'the new mount API (move_mount), which every mount uses', since: '5.2' },
  fsopen: { feature: 'the new mount API (fsopen), which mounts of file systems use', since: '5.2' },
  fsconfig: { feature: 'the new mount API (fsconfig)', since: '5.2' },
  fsmount: { feature: 'the new mount API (fsmount)', since: '5.2' },
  mount_setattr: {
    feature: 'mount_setattr, which id-mapped mounts and recursive mount attributes (rro and the like) need',
    since: '5.12',
  },
  clone3: { feature: 'clone3, which starts the container process with a pidfd', since: '5.3' },
  pidfd_open: { feature: 'pidfd_open, which holds every process corral starts', since: '5.3' },
  pidfd_send_signal: { feature: 'pidfd_send_signal', since: '5.1' },
  setns: { feature: 'setns on a pidfd, which exec joins the container with', since: '5.8' },
  close_range: { feature: 'close_range', since: '5.9' },
};

const ENOSYS = 38;

/** "this kernel lacks openat2, ... (Linux 5.6 or newer)" for a call the kernel does not have. */
export function missingKernelFeature(syscall: string, errno: number): string | undefined {
  const known = KERNEL_FEATURES[syscall];
  if (!known || Math.abs(errno) !== ENOSYS) return undefined;
  return `this kernel lacks ${known.feature} (Linux ${known.since} or newer)`;
}
