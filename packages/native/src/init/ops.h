/*
 * Generated from OPS in protocol.ts by ops-header.ts: do not edit. Change OPS, then run
 * `./tooling/pnpm exec vitest run packages/native/test/unit/ops-header.test.ts -u`.
 *
 * CI_OPS(X) calls X(NAME, name, code) for every op; CI_FIELDS_<name>(F) calls F(kind, field)
 * for each of its fields in wire order, kind being u32, u64, str, strs or u32s.
 */
#ifndef CORRAL_INIT_OPS_H
#define CORRAL_INIT_OPS_H

/* 1 joinNamespace: setns into the namespace at path; nstype (CLONE_NEW*) makes setns refuse
 * another type */
#define CI_FIELDS_join_namespace(F) F(u32, nstype) F(str, path)
/* 2 clone: clone3 with these CLONE_NEW* flags: everything after runs in the container process */
#define CI_FIELDS_clone(F) F(u64, flags)
/* 3 timeOffsets: offsets (secs as two's complement) of the time namespace unshared for children */
#define CI_FIELDS_time_offsets(F) F(u64, monotonic_secs) F(u32, monotonic_nanosecs) F(u64, boottime_secs) F(u32, boottime_nanosecs)
/* 4 openMountSource: clone a bind source (BindFlags) now, for the later mountBind of the same
 * source, recursion and userns: before becoming a user namespace root that may not reach it, or
 * (userns n, before the clone) id-mapped by the n-th idmapUserns while corral-init is still the
 * host root */
#define CI_FIELDS_open_mount_source(F) F(str, source) F(u32, flags) F(u32, userns)
/* 5 joinPidfd: setns through the pidfd the runtime gave as descriptor fd: every namespace in
 * nstype at once, that process's only; used as it is, since a pidfd cannot be opened again
 * before Linux 6.9 */
#define CI_FIELDS_join_pidfd(F) F(u32, nstype) F(u32, fd)
/* 6 startInCgroup: the clone that follows starts the process in the cgroup2 directory at
 * descriptor fd (CLONE_INTO_CGROUP): born there, it needs no move by pid, whose first write
 * waits on an RCU grace period */
#define CI_FIELDS_start_in_cgroup(F) F(u32, fd)
/* 7 enterCgroups: in the container process, single-threaded: write "0" to each cgroup v1 tasks
 * file the runtime opened (descriptors fds), moving itself into each hierarchy without that
 * wait, then close them */
#define CI_FIELDS_enter_cgroups(F) F(u32s, fds)
/* 10 waitGo: wait for the GO message */
#define CI_FIELDS_wait_go(F)
/* 11 unshare: unshare(flags) */
#define CI_FIELDS_unshare(F) F(u64, flags)
/* 12 setsid: start a new session */
#define CI_FIELDS_setsid(F)
/* 13 dumpable: prctl(PR_SET_DUMPABLE, value): a runtime that is not root writes a new user
 * namespace's maps only to a dumpable process */
#define CI_FIELDS_dumpable(F) F(u32, value)
/* 20 rootPropagation: mount flags for "/" (MS_REC | MS_PRIVATE, MS_SLAVE, ...) */
#define CI_FIELDS_root_propagation(F) F(u64, flags)
/* 21 openRootfs: bind the rootfs (host path) onto itself and keep a descriptor of it */
#define CI_FIELDS_open_rootfs(F) F(str, path)
/* 22 mkdir: mkdir -p inside the root */
#define CI_FIELDS_mkdir(F) F(str, path) F(u32, mode)
/* 23 mkfile: an empty file inside the root to mount over, unless something is there */
#define CI_FIELDS_mkfile(F) F(str, path) F(u32, mode)
/* 24 mountFs: a new filesystem on target (in the root): fsopen, fsconfig each option (key=value
 * or key) and each of tryOptions where the filesystem takes it, fsmount with the MOUNT_ATTR_*
 * set, then the propagation (MS_*); MountFlags say what else is done with the target */
#define CI_FIELDS_mount_fs(F) F(str, fstype) F(str, source) F(str, target) F(u64, attr_set) F(u32, propagation) F(u32, flags) F(strs, options) F(strs, try_options)
/* 25 mountBind: bind source (a host path, or one in the root) on target (in the root) with
 * BindFlags; then MOUNT_ATTR_* set and cleared on it, attrReset cleared too except what the
 * kernel keeps locked, recursiveSet and recursiveClear on every mount of it, and the
 * propagation (MS_*); userns n takes the source openMountSource id-mapped (0: none) */
#define CI_FIELDS_mount_bind(F) F(str, source) F(str, target) F(u32, flags) F(u64, attr_set) F(u64, attr_clear) F(u64, attr_reset) F(u64, recursive_set) F(u64, recursive_clear) F(u32, propagation) F(u32, userns)
/* 26 mknod: a device node inside the root: mode is S_IF* | permissions */
#define CI_FIELDS_mknod(F) F(str, path) F(u32, mode) F(u32, major) F(u32, minor) F(u32, uid) F(u32, gid)
/* 27 symlink: a symlink at path (in the root) pointing to target */
#define CI_FIELDS_symlink(F) F(str, target) F(str, path)
/* 28 pivotRoot: pivot_root into the rootfs and detach the old root */
#define CI_FIELDS_pivot_root(F)
/* 29 chroot: move the rootfs onto / and chroot (--no-pivot) */
#define CI_FIELDS_chroot(F)
/* 30 maskPath: /dev/null over a file, a read-only tmpfs over a directory (one tmpfs for them
 * all) */
#define CI_FIELDS_mask_path(F) F(str, path)
/* 31 readonlyPath: bind path onto itself read-only */
#define CI_FIELDS_readonly_path(F) F(str, path)
/* 32 remountReadonly: make the mount at path read-only (not its submounts) */
#define CI_FIELDS_remount_readonly(F) F(str, path)
/* 40 sethostname: sethostname */
#define CI_FIELDS_sethostname(F) F(str, name)
/* 41 setdomainname: setdomainname */
#define CI_FIELDS_setdomainname(F) F(str, name)
/* 42 rlimit: prlimit on itself */
#define CI_FIELDS_rlimit(F) F(u32, resource) F(u64, soft) F(u64, hard)
/* 43 setgroups: setgroups */
#define CI_FIELDS_setgroups(F) F(u32s, gids)
/* 44 setgid: setresgid */
#define CI_FIELDS_setgid(F) F(u32, gid)
/* 45 setuid: setresuid, keeping the permitted capabilities for the capabilities op */
#define CI_FIELDS_setuid(F) F(u32, uid)
/* 46 capabilities: the final capability sets: bounding drops, capset, ambient raises */
#define CI_FIELDS_capabilities(F) F(u64, bounding) F(u64, effective) F(u64, permitted) F(u64, inheritable) F(u64, ambient)
/* 47 noNewPrivileges: PR_SET_NO_NEW_PRIVS */
#define CI_FIELDS_no_new_privileges(F)
/* 48 umask: umask */
#define CI_FIELDS_umask(F) F(u32, mask)
/* 49 chdir: chdir (ChdirMode: must; try, leaving EACCES and EPERM to a later retry; retry, only
 * if a try left it), checked to land inside the new root */
#define CI_FIELDS_chdir(F) F(str, path) F(u32, mode)
/* 50 openExecFifo: keep an O_PATH descriptor of the exec FIFO (host path) */
#define CI_FIELDS_open_exec_fifo(F) F(str, path)
/* 51 waitExecFifo: open the exec FIFO for writing, which blocks until `start` reads it */
#define CI_FIELDS_wait_exec_fifo(F)
/* 52 runHook: run a hook in cwd ("": where corral-init is) with the state document of GO, with
 * this status, on its stdin, killed after timeoutMs (0: never); HookFlags.withHome adds the
 * process's HOME to env. Its stdout and stderr are kept for the error report: exit status N or
 * signal: NAME, stdout: ..., stderr: ... */
#define CI_FIELDS_run_hook(F) F(str, path) F(strs, args) F(strs, env) F(str, cwd) F(str, status) F(u64, timeout_ms) F(u32, flags)
/* 53 console: after pivot_root, a pty of the container's devpts sized rows x columns (0 0:
 * unset): its peer becomes the controlling terminal and stdio; the master goes to the runtime
 * in CONSOLE. ConsoleFlags.bindConsole: the peer is bound onto /dev/console as well (the
 * container's init; an exec'd process leaves it alone). ConsoleFlags.clearOnlcr: the runtime
 * relays it, and output newlines stay as they are */
#define CI_FIELDS_console(F) F(u32, rows) F(u32, columns) F(u32, flags)
/* 54 closeDescriptors: every descriptor from 3+preserve up is marked close-on-exec (the channel
 * stays until exec closes it), and 3 .. 3+preserve-1 stay open across exec */
#define CI_FIELDS_close_descriptors(F) F(u32, preserve)
/* 55 joinSessionKeyring: a new session keyring by this name, searchable by its user */
#define CI_FIELDS_join_session_keyring(F) F(str, name)
/* 56 sysctl: write value to /proc/sys/name ("/"-separated) of the new root */
#define CI_FIELDS_sysctl(F) F(str, name) F(str, value)
/* 57 ioPriority: ioprio_set on itself */
#define CI_FIELDS_io_priority(F) F(u32, io_class) F(u32, level)
/* 58 scheduler: sched_setattr on itself (nice as two's complement) */
#define CI_FIELDS_scheduler(F) F(u32, policy) F(u64, flags) F(u32, nice) F(u32, priority) F(u64, runtime) F(u64, deadline) F(u64, period)
/* 59 personality: personality(2) */
#define CI_FIELDS_personality(F) F(u32, domain)
/* 60 signalReady: send READY */
#define CI_FIELDS_signal_ready(F)
/* 61 exec: execve the program resolveExec found, with args, and env (and HOME when
 * homeFromPasswd ran) */
#define CI_FIELDS_exec(F) F(strs, args) F(strs, env)
/* 62 cpuAffinity: sched_setaffinity on itself */
#define CI_FIELDS_cpu_affinity(F) F(u32s, cpus)
/* 63 idmapUserns: before the clone, a user namespace holding an id-mapped mount's maps:
 * uidLines uid triples then gid triples */
#define CI_FIELDS_idmap_userns(F) F(u32, uid_lines) F(u32s, maps)
/* 64 resolveExec: find file as Go's exec.LookPath does: a name with a slash as it is, else in
 * each directory of searchPath (an empty entry is the working directory); it must exist, not be
 * a directory and be executable (faccessat AT_EACCESS, or its mode bits where that is refused).
 * Fails with the call at fault (stat, or none) and the description of its errno; lookpath
 * ENOENT when no directory has it, lookpath EACCES when only a relative entry does */
#define CI_FIELDS_resolve_exec(F) F(str, file) F(str, search_path)
/* 65 resetCpuAffinity: sched_setaffinity on itself to every CPU, which the kernel narrows to
 * those its cpuset allows */
#define CI_FIELDS_reset_cpu_affinity(F)
/* 66 memoryPolicy: set_mempolicy(mode | flags) with these NUMA nodes */
#define CI_FIELDS_memory_policy(F) F(u32, mode) F(u32, flags) F(u32s, nodes)
/* 67 homeFromPasswd: HOME for exec: the home of uid in the root's /etc/passwd, "/" when it has
 * none */
#define CI_FIELDS_home_from_passwd(F) F(u32, uid)
/* 68 raiseCapabilities: make every permitted capability effective again, for a privileged step
 * after the uid switch (a filter without no_new_privs) */
#define CI_FIELDS_raise_capabilities(F)
/* 69 chownStdio: stdin, stdout and stderr (a pty, pipes) become uid's, before the switch to it,
 * unless they are /dev/null; where the kernel refuses (an unmapped owner, a read-only /dev)
 * they are left as they are */
#define CI_FIELDS_chown_stdio(F) F(u32, uid)
/* 70 seccomp: install the BPF program (sock_filter as little-endian u32 pairs) with seccomp(2)
 * flags; with SECCOMP_FILTER_FLAG_NEW_LISTENER the listener goes to the runtime in
 * SECCOMP_LISTENER */
#define CI_FIELDS_seccomp(F) F(u32, flags) F(u32s, program)

#define CI_OPS(X) \
  X(JOIN_NAMESPACE, join_namespace, 1) \
  X(CLONE, clone, 2) \
  X(TIME_OFFSETS, time_offsets, 3) \
  X(OPEN_MOUNT_SOURCE, open_mount_source, 4) \
  X(JOIN_PIDFD, join_pidfd, 5) \
  X(START_IN_CGROUP, start_in_cgroup, 6) \
  X(ENTER_CGROUPS, enter_cgroups, 7) \
  X(WAIT_GO, wait_go, 10) \
  X(UNSHARE, unshare, 11) \
  X(SETSID, setsid, 12) \
  X(DUMPABLE, dumpable, 13) \
  X(ROOT_PROPAGATION, root_propagation, 20) \
  X(OPEN_ROOTFS, open_rootfs, 21) \
  X(MKDIR, mkdir, 22) \
  X(MKFILE, mkfile, 23) \
  X(MOUNT_FS, mount_fs, 24) \
  X(MOUNT_BIND, mount_bind, 25) \
  X(MKNOD, mknod, 26) \
  X(SYMLINK, symlink, 27) \
  X(PIVOT_ROOT, pivot_root, 28) \
  X(CHROOT, chroot, 29) \
  X(MASK_PATH, mask_path, 30) \
  X(READONLY_PATH, readonly_path, 31) \
  X(REMOUNT_READONLY, remount_readonly, 32) \
  X(SETHOSTNAME, sethostname, 40) \
  X(SETDOMAINNAME, setdomainname, 41) \
  X(RLIMIT, rlimit, 42) \
  X(SETGROUPS, setgroups, 43) \
  X(SETGID, setgid, 44) \
  X(SETUID, setuid, 45) \
  X(CAPABILITIES, capabilities, 46) \
  X(NO_NEW_PRIVILEGES, no_new_privileges, 47) \
  X(UMASK, umask, 48) \
  X(CHDIR, chdir, 49) \
  X(OPEN_EXEC_FIFO, open_exec_fifo, 50) \
  X(WAIT_EXEC_FIFO, wait_exec_fifo, 51) \
  X(RUN_HOOK, run_hook, 52) \
  X(CONSOLE, console, 53) \
  X(CLOSE_DESCRIPTORS, close_descriptors, 54) \
  X(JOIN_SESSION_KEYRING, join_session_keyring, 55) \
  X(SYSCTL, sysctl, 56) \
  X(IO_PRIORITY, io_priority, 57) \
  X(SCHEDULER, scheduler, 58) \
  X(PERSONALITY, personality, 59) \
  X(SIGNAL_READY, signal_ready, 60) \
  X(EXEC, exec, 61) \
  X(CPU_AFFINITY, cpu_affinity, 62) \
  X(IDMAP_USERNS, idmap_userns, 63) \
  X(RESOLVE_EXEC, resolve_exec, 64) \
  X(RESET_CPU_AFFINITY, reset_cpu_affinity, 65) \
  X(MEMORY_POLICY, memory_policy, 66) \
  X(HOME_FROM_PASSWD, home_from_passwd, 67) \
  X(RAISE_CAPABILITIES, raise_capabilities, 68) \
  X(CHOWN_STDIO, chown_stdio, 69) \
  X(SECCOMP, seccomp, 70)

#endif
