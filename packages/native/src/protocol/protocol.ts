/**
 * The corral parent <-> corral-init protocol. protocol.h beside this file is the other half and
 * documents the wire format; the golden vectors in test/golden are checked by both sides.
 */

export const PROTOCOL_VERSION = 2;
export const FRAME_HEADER_SIZE = 8;
export const OP_HEADER_SIZE = 8;
/**
 * A message's payload may be this large: Linux's argument limit (args and env of the process,
 * up to 6 MiB) and Kubernetes' 256 KiB of annotations fit with room to spare.
 */
export const MAX_MESSAGE = 16 * 1024 * 1024;
/** A message goes as datagrams of at most this many bytes, below any socket buffer's limit. */
export const MAX_DATAGRAM = 64 * 1024;
export const MAX_OPS = 4096;

/**
 * The handshake, step by step. corral-init marks the same points `sync N`, and the runtime's
 * InitProcess has one method per step; ERROR may come instead of any step from the runtime's
 * side, and LOG lines at any time.
 */
export const HandshakeStep = {
  /** runtime -> corral-init: PLAN. */
  plan: 1,
  /** corral-init -> runtime: CHILD_STARTED, the container process's pid and a pidfd. */
  childStarted: 2,
  /** runtime -> container process: GO, host-side setup is done (waitGo). */
  go: 3,
  /** container process -> runtime: CONSOLE, the pty master (console). */
  console: 4,
  /** container process -> runtime: SECCOMP_LISTENER (seccomp with a listener). */
  seccompListener: 5,
  /** container process -> runtime: READY, stopped at the exec FIFO (signalReady, `create`). */
  ready: 6,
  /** The channel closes: the process has exec'd (exec). */
  exec: 7,
} as const;

/** LOG levels, as the runtime's logger takes them. */
export const LogLevel = { debug: 0, info: 1, warning: 2 } as const;

export const MessageType = {
  plan: 1,
  childStarted: 2,
  go: 3,
  ready: 4,
  error: 5,
  log: 6,
  console: 7,
  /** Numbered with its op (70) so that message types added elsewhere do not collide. */
  seccompListener: 70,
} as const;
export type MessageTypeName = keyof typeof MessageType;

/** Field kinds: u32, u64 (bigint), str, strs (string list), u32s (u32 list). */
export type FieldKind = 'u32' | 'u64' | 'str' | 'strs' | 'u32s';
interface FieldValue {
  u32: number;
  u64: bigint;
  str: string;
  strs: readonly string[];
  u32s: readonly number[];
}

/**
 * Every op: its wire code, what corral-init does with it, and its fields in wire order. This
 * table is the only definition of the ops: corral-init's C table (src/init/ops.h) is generated
 * from it by ops-header.ts, and test/unit/ops-header.test.ts fails when the two differ.
 */
export const OPS = {
  joinNamespace: {
    code: 1,
    doc: 'setns into the namespace at path; nstype (CLONE_NEW*) makes setns refuse another type',
    fields: [
      ['nstype', 'u32'],
      ['path', 'str'],
    ],
  },
  joinPidfd: {
    code: 5,
    doc: "setns through the pidfd the runtime gave as descriptor fd: every namespace in nstype at once, that process's only; used as it is, since a pidfd cannot be opened again before Linux 6.9",
    fields: [
      ['nstype', 'u32'],
      ['fd', 'u32'],
    ],
  },
  clone: {
    code: 2,
    doc: 'clone3 with these CLONE_NEW* flags: everything after runs in the container process',
    fields: [['flags', 'u64']],
  },
  startInCgroup: {
    code: 6,
    doc: 'the clone that follows starts the process in the cgroup2 directory at descriptor fd (CLONE_INTO_CGROUP): born there, it needs no move by pid, whose first write waits on an RCU grace period',
    fields: [['fd', 'u32']],
  },
  enterCgroups: {
    code: 7,
    doc: 'in the container process, single-threaded: write "0" to each cgroup v1 tasks file the runtime opened (descriptors fds), moving itself into each hierarchy without that wait, then close them',
    fields: [['fds', 'u32s']],
  },
  timeOffsets: {
    code: 3,
    doc: "offsets (secs as two's complement) of the time namespace unshared for children",
    fields: [
      ['monotonicSecs', 'u64'],
      ['monotonicNanosecs', 'u32'],
      ['boottimeSecs', 'u64'],
      ['boottimeNanosecs', 'u32'],
    ],
  },
  openMountSource: {
    code: 4,
    doc: 'clone a bind source (BindFlags) now, for the later mountBind of the same source, recursion and userns: before becoming a user namespace root that may not reach it, or (userns n, before the clone) id-mapped by the n-th idmapUserns while corral-init is still the host root',
    fields: [
      ['source', 'str'],
      ['flags', 'u32'],
      ['userns', 'u32'],
    ],
  },
  waitGo: { code: 10, doc: 'wait for the GO message', fields: [] },
  unshare: { code: 11, doc: 'unshare(flags)', fields: [['flags', 'u64']] },
  setsid: { code: 12, doc: 'start a new session', fields: [] },
  dumpable: {
    code: 13,
    doc: "prctl(PR_SET_DUMPABLE, value): a runtime that is not root writes a new user namespace's maps only to a dumpable process",
    fields: [['value', 'u32']],
  },
  rootPropagation: {
    code: 20,
    doc: 'mount flags for "/" (MS_REC | MS_PRIVATE, MS_SLAVE, ...)',
    fields: [['flags', 'u64']],
  },
  openRootfs: {
    code: 21,
    doc: 'bind the rootfs (host path) onto itself and keep a descriptor of it',
    fields: [['path', 'str']],
  },
  mkdir: {
    code: 22,
    doc: 'mkdir -p inside the root',
    fields: [
      ['path', 'str'],
      ['mode', 'u32'],
    ],
  },
  mkfile: {
    code: 23,
    doc: 'an empty file inside the root to mount over, unless something is there',
    fields: [
      ['path', 'str'],
      ['mode', 'u32'],
    ],
  },
  mountFs: {
    code: 24,
    doc: 'a new filesystem on target (in the root): fsopen, fsconfig each option (key=value or key) and each of tryOptions where the filesystem takes it, fsmount with the MOUNT_ATTR_* set, then the propagation (MS_*); MountFlags say what else is done with the target',
    fields: [
      ['fstype', 'str'],
      ['source', 'str'],
      ['target', 'str'],
      ['attrSet', 'u64'],
      ['propagation', 'u32'],
      ['flags', 'u32'],
      ['options', 'strs'],
      ['tryOptions', 'strs'],
    ],
  },
  mountBind: {
    code: 25,
    doc: 'bind source (a host path, or one in the root) on target (in the root) with BindFlags; then MOUNT_ATTR_* set and cleared on it, attrReset cleared too except what the kernel keeps locked, recursiveSet and recursiveClear on every mount of it, and the propagation (MS_*); userns n takes the source openMountSource id-mapped (0: none)',
    fields: [
      ['source', 'str'],
      ['target', 'str'],
      ['flags', 'u32'],
      ['attrSet', 'u64'],
      ['attrClear', 'u64'],
      ['attrReset', 'u64'],
      ['recursiveSet', 'u64'],
      ['recursiveClear', 'u64'],
      ['propagation', 'u32'],
      ['userns', 'u32'],
    ],
  },
  mknod: {
    code: 26,
    doc: 'a device node inside the root: mode is S_IF* | permissions',
    fields: [
      ['path', 'str'],
      ['mode', 'u32'],
      ['major', 'u32'],
      ['minor', 'u32'],
      ['uid', 'u32'],
      ['gid', 'u32'],
    ],
  },
  symlink: {
    code: 27,
    doc: 'a symlink at path (in the root) pointing to target',
    fields: [
      ['target', 'str'],
      ['path', 'str'],
    ],
  },
  pivotRoot: { code: 28, doc: 'pivot_root into the rootfs and detach the old root', fields: [] },
  chroot: { code: 29, doc: 'move the rootfs onto / and chroot (--no-pivot)', fields: [] },
  maskPath: {
    code: 30,
    doc: '/dev/null over a file, a read-only tmpfs over a directory (one tmpfs for them all)',
    fields: [['path', 'str']],
  },
  readonlyPath: { code: 31, doc: 'bind path onto itself read-only', fields: [['path', 'str']] },
  remountReadonly: {
    code: 32,
    doc: 'make the mount at path read-only (not its submounts)',
    fields: [['path', 'str']],
  },
  sethostname: { code: 40, doc: 'sethostname', fields: [['name', 'str']] },
  setdomainname: { code: 41, doc: 'setdomainname', fields: [['name', 'str']] },
  rlimit: {
    code: 42,
    doc: 'prlimit on itself',
    fields: [
      ['resource', 'u32'],
      ['soft', 'u64'],
      ['hard', 'u64'],
    ],
  },
  setgroups: { code: 43, doc: 'setgroups', fields: [['gids', 'u32s']] },
  setgid: { code: 44, doc: 'setresgid', fields: [['gid', 'u32']] },
  setuid: {
    code: 45,
    doc: 'setresuid, keeping the permitted capabilities for the capabilities op',
    fields: [['uid', 'u32']],
  },
  capabilities: {
    code: 46,
    doc: 'the final capability sets: bounding drops, capset, ambient raises',
    fields: [
      ['bounding', 'u64'],
      ['effective', 'u64'],
      ['permitted', 'u64'],
      ['inheritable', 'u64'],
      ['ambient', 'u64'],
    ],
  },
  noNewPrivileges: { code: 47, doc: 'PR_SET_NO_NEW_PRIVS', fields: [] },
  umask: { code: 48, doc: 'umask', fields: [['mask', 'u32']] },
  chdir: {
    code: 49,
    doc: 'chdir (ChdirMode: must; try, leaving EACCES and EPERM to a later retry; retry, only if a try left it), checked to land inside the new root',
    fields: [
      ['path', 'str'],
      ['mode', 'u32'],
    ],
  },
  openExecFifo: {
    code: 50,
    doc: 'keep an O_PATH descriptor of the exec FIFO (host path)',
    fields: [['path', 'str']],
  },
  waitExecFifo: {
    code: 51,
    doc: 'open the exec FIFO for writing, which blocks until `start` reads it',
    fields: [],
  },
  runHook: {
    code: 52,
    doc: 'run a hook in cwd ("": where corral-init is) with the state document of GO, with this status, on its stdin, killed after timeoutMs (0: never); HookFlags.withHome adds the process\'s HOME to env. Its stdout and stderr are kept for the error report: exit status N or signal: NAME, stdout: ..., stderr: ...',
    fields: [
      ['path', 'str'],
      ['args', 'strs'],
      ['env', 'strs'],
      ['cwd', 'str'],
      ['status', 'str'],
      ['timeoutMs', 'u64'],
      ['flags', 'u32'],
    ],
  },
  console: {
    code: 53,
    doc: "after pivot_root, a pty of the container's devpts sized rows x columns (0 0: unset): its peer becomes the controlling terminal and stdio; the master goes to the runtime in CONSOLE. ConsoleFlags.bindConsole: the peer is bound onto /dev/console as well (the container's init; an exec'd process leaves it alone). ConsoleFlags.clearOnlcr: the runtime relays it, and output newlines stay as they are",
    fields: [
      ['rows', 'u32'],
      ['columns', 'u32'],
      ['flags', 'u32'],
    ],
  },
  closeDescriptors: {
    code: 54,
    doc: 'every descriptor from 3+preserve up is marked close-on-exec (the channel stays until exec closes it), and 3 .. 3+preserve-1 stay open across exec',
    fields: [['preserve', 'u32']],
  },
  joinSessionKeyring: {
    code: 55,
    doc: 'a new session keyring by this name, searchable by its user',
    fields: [['name', 'str']],
  },
  sysctl: {
    code: 56,
    doc: 'write value to /proc/sys/name ("/"-separated) of the new root',
    fields: [
      ['name', 'str'],
      ['value', 'str'],
    ],
  },
  ioPriority: {
    code: 57,
    doc: 'ioprio_set on itself',
    fields: [
      ['ioClass', 'u32'],
      ['level', 'u32'],
    ],
  },
  scheduler: {
    code: 58,
    doc: "sched_setattr on itself (nice as two's complement)",
    fields: [
      ['policy', 'u32'],
      ['flags', 'u64'],
      ['nice', 'u32'],
      ['priority', 'u32'],
      ['runtime', 'u64'],
      ['deadline', 'u64'],
      ['period', 'u64'],
    ],
  },
  personality: { code: 59, doc: 'personality(2)', fields: [['domain', 'u32']] },
  signalReady: { code: 60, doc: 'send READY', fields: [] },
  exec: {
    code: 61,
    doc: 'execve the program resolveExec found, with args, and env (and HOME when homeFromPasswd ran)',
    fields: [
      ['args', 'strs'],
      ['env', 'strs'],
    ],
  },
  resolveExec: {
    code: 64,
    doc: "find file as Go's exec.LookPath does: a name with a slash as it is, else in each directory of searchPath (an empty entry is the working directory); it must exist, not be a directory and be executable (faccessat AT_EACCESS, or its mode bits where that is refused). Fails with the call at fault (stat, or none) and the description of its errno; lookpath ENOENT when no directory has it, lookpath EACCES when only a relative entry does",
    fields: [
      ['file', 'str'],
      ['searchPath', 'str'],
    ],
  },
  cpuAffinity: { code: 62, doc: 'sched_setaffinity on itself', fields: [['cpus', 'u32s']] },
  resetCpuAffinity: {
    code: 65,
    doc: 'sched_setaffinity on itself to every CPU, which the kernel narrows to those its cpuset allows',
    fields: [],
  },
  memoryPolicy: {
    code: 66,
    doc: 'set_mempolicy(mode | flags) with these NUMA nodes',
    fields: [
      ['mode', 'u32'],
      ['flags', 'u32'],
      ['nodes', 'u32s'],
    ],
  },
  homeFromPasswd: {
    code: 67,
    doc: 'HOME for exec: the home of uid in the root\'s /etc/passwd, "/" when it has none',
    fields: [['uid', 'u32']],
  },
  chownStdio: {
    code: 69,
    doc: "stdin, stdout and stderr (a pty, pipes) become uid's, before the switch to it, unless they are /dev/null; where the kernel refuses (an unmapped owner, a read-only /dev) they are left as they are",
    fields: [['uid', 'u32']],
  },
  raiseCapabilities: {
    code: 68,
    doc: 'make every permitted capability effective again, for a privileged step after the uid switch (a filter without no_new_privs)',
    fields: [],
  },
  idmapUserns: {
    code: 63,
    doc: "before the clone, a user namespace holding an id-mapped mount's maps: uidLines uid triples then gid triples",
    fields: [
      ['uidLines', 'u32'],
      ['maps', 'u32s'],
    ],
  },
  seccomp: {
    code: 70,
    doc: 'install the BPF program (sock_filter as little-endian u32 pairs) with seccomp(2) flags; with SECCOMP_FILTER_FLAG_NEW_LISTENER the listener goes to the runtime in SECCOMP_LISTENER',
    fields: [
      ['flags', 'u32'],
      ['program', 'u32s'],
    ],
  },
} as const satisfies Record<
  string,
  { code: number; doc: string; fields: ReadonlyArray<readonly [string, FieldKind]> }
>;

export type OpName = keyof typeof OPS;
type FieldsOf<K extends OpName> = (typeof OPS)[K]['fields'][number];
/** One op of a plan, e.g. `{ op: 'mkdir', path: '/dev', mode: 0o755 }`. */
export type InitOp = {
  [K in OpName]: { op: K } & { -readonly [F in FieldsOf<K> as F[0]]: FieldValue[F[1]] };
}[OpName];

/** chdir modes. */
export const ChdirMode = { must: 0, try: 1, retry: 2 } as const;

/** mountBind and openMountSource flags. */
export const BindFlags = {
  /** Clone the whole tree under the source (rbind). */
  recursive: 1,
  /** The source is a path in the root (made by an earlier mount, maybe), resolved there. */
  sourceInRoot: 4,
  /** Make the target as the source is, a directory or a file, where it is missing. */
  makeTarget: 8,
  /** The id map goes on every mount of the tree (ridmap). */
  idmapRecursive: 16,
} as const;

/** runHook flags. */
export const HookFlags = { withHome: 1 } as const;

/** console flags. */
export const ConsoleFlags = {
  /** The runtime relays the pty: output newlines stay as they are. */
  clearOnlcr: 1,
  /** The peer is bound onto /dev/console: for the container's init only, as with runc. */
  bindConsole: 2,
} as const;

/** mountFs flags. */
export const MountFlags = {
  /** Make the target directory where it is missing. */
  makeDir: 1,
  /** Where the target exists, the new filesystem's root takes its mode (before the options). */
  keepMode: 2,
  /** Copy what the target holds into the new filesystem before mounting it there (tmpcopyup). */
  copyUp: 4,
  /** Refuse a target that exists and is not a directory: a symlink there could lead elsewhere. */
  realDir: 8,
} as const;

const opByCode = new Map<number, OpName>(
  Object.entries(OPS).map(([name, spec]) => [spec.code, name as OpName]),
);

/** Appends little-endian fields to one growing buffer (a plan has hundreds of fields). */
class Writer {
  #buf = Buffer.allocUnsafe(1024);
  #size = 0;
  get size(): number {
    return this.#size;
  }
  #reserve(n: number): number {
    if (this.#size + n > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#size + n));
      this.#buf.copy(grown, 0, 0, this.#size);
      this.#buf = grown;
    }
    const at = this.#size;
    this.#size += n;
    return at;
  }
  u16(value: number): void {
    const at = this.#reserve(2); // before reading #buf: reserving may replace it
    this.#buf.writeUInt16LE(value, at);
  }
  u32(value: number): void {
    const at = this.#reserve(4);
    this.#buf.writeUInt32LE(value >>> 0, at);
  }
  u64(value: bigint): void {
    const at = this.#reserve(8);
    this.#buf.writeBigUInt64LE(BigInt.asUintN(64, value), at);
  }
  str(value: string): void {
    if (value.includes('\0'))
      throw new TypeError(`protocol: string contains a NUL byte: ${JSON.stringify(value)}`);
    const length = Buffer.byteLength(value, 'utf8') + 1;
    this.u32(length);
    const at = this.#reserve(length);
    this.#buf.write(value, at, 'utf8');
    this.#buf[at + length - 1] = 0;
  }
  bytes(value: Buffer): void {
    const at = this.#reserve(value.length);
    value.copy(this.#buf, at);
  }
  /** Overwrites a u32 written earlier (an op's length, once its fields are known). */
  patchU32(at: number, value: number): void {
    this.#buf.writeUInt32LE(value >>> 0, at);
  }
  done(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#size));
  }
}

function checkU32(op: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new TypeError(`protocol: ${op}.${field} must be an integer in 0..2^32-1, got ${String(value)}`);
  }
  return value;
}

function encodeOp(out: Writer, op: InitOp): void {
  const spec = OPS[op.op];
  if (!spec) throw new TypeError(`protocol: unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
  const start = out.size;
  out.u16(spec.code);
  out.u16(0);
  out.u32(0); // the op's length, patched below
  const fields = out;
  const values = op as unknown as Record<string, unknown>;
  for (const [name, kind] of spec.fields) {
    const value = values[name];
    switch (kind) {
      case 'u32':
        fields.u32(checkU32(op.op, name, value));
        break;
      case 'u64':
        if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
          throw new TypeError(`protocol: ${op.op}.${name} must be a bigint in 0..2^64-1`);
        }
        fields.u64(value);
        break;
      case 'str':
        if (typeof value !== 'string') throw new TypeError(`protocol: ${op.op}.${name} must be a string`);
        fields.str(value);
        break;
      case 'strs':
        if (!Array.isArray(value)) throw new TypeError(`protocol: ${op.op}.${name} must be a string list`);
        fields.u32(value.length);
        for (const item of value) fields.str(item);
        break;
      case 'u32s':
        if (!Array.isArray(value)) throw new TypeError(`protocol: ${op.op}.${name} must be a number list`);
        fields.u32(value.length);
        for (const item of value) fields.u32(checkU32(op.op, name, item));
        break;
    }
  }
  out.patchU32(start + 4, out.size - start);
}

/** The PLAN payload: version, op count, ops. */
export function encodePlan(ops: readonly InitOp[]): Buffer {
  if (ops.length > MAX_OPS) throw new RangeError(`protocol: a plan holds at most ${MAX_OPS} ops`);
  const out = new Writer();
  out.u32(PROTOCOL_VERSION);
  out.u32(ops.length);
  for (const op of ops) encodeOp(out, op);
  return out.done();
}

class Reader {
  #buf: Buffer;
  #pos = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  get left(): number {
    return this.#buf.length - this.#pos;
  }
  #need(n: number): void {
    if (this.left < n) throw new RangeError('protocol: message is truncated');
  }
  u16(): number {
    this.#need(2);
    const v = this.#buf.readUInt16LE(this.#pos);
    this.#pos += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.#buf.readUInt32LE(this.#pos);
    this.#pos += 4;
    return v;
  }
  i32(): number {
    this.#need(4);
    const v = this.#buf.readInt32LE(this.#pos);
    this.#pos += 4;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.#buf.readBigUInt64LE(this.#pos);
    this.#pos += 8;
    return v;
  }
  str(): string {
    const len = this.u32();
    this.#need(len);
    if (len === 0 || this.#buf[this.#pos + len - 1] !== 0)
      throw new RangeError('protocol: string is not NUL-terminated');
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + len - 1);
    this.#pos += len;
    return s;
  }
  sub(len: number): Reader {
    this.#need(len);
    const r = new Reader(this.#buf.subarray(this.#pos, this.#pos + len));
    this.#pos += len;
    return r;
  }
}

/** Decodes a PLAN payload; the inverse of encodePlan (used by tests and diagnostics). */
export function decodePlan(payload: Buffer): InitOp[] {
  const r = new Reader(payload);
  const version = r.u32();
  if (version !== PROTOCOL_VERSION) throw new RangeError(`protocol: unsupported plan version ${version}`);
  const count = r.u32();
  const ops: InitOp[] = [];
  for (let i = 0; i < count; i++) {
    const code = r.u16();
    if (r.u16() !== 0) throw new RangeError(`protocol: op ${i} has a non-zero reserved field`);
    const length = r.u32();
    const name = opByCode.get(code);
    if (!name || length < OP_HEADER_SIZE) throw new RangeError(`protocol: op ${i} is malformed`);
    const fields = r.sub(length - OP_HEADER_SIZE);
    const op: Record<string, unknown> = { op: name };
    for (const [field, kind] of OPS[name].fields as ReadonlyArray<readonly [string, FieldKind]>) {
      if (kind === 'u32') op[field] = fields.u32();
      else if (kind === 'u64') op[field] = fields.u64();
      else if (kind === 'str') op[field] = fields.str();
      else if (kind === 'strs') op[field] = Array.from({ length: fields.u32() }, () => fields.str());
      else op[field] = Array.from({ length: fields.u32() }, () => fields.u32());
    }
    if (fields.left !== 0) throw new RangeError(`protocol: op ${i} has trailing bytes`);
    ops.push(op as InitOp);
  }
  if (r.left !== 0) throw new RangeError('protocol: plan has trailing bytes');
  return ops;
}

/**
 * A message as the datagrams that carry it: the first holds the header (type, whole payload
 * length) and the payload's start, each next one MAX_DATAGRAM bytes more (the last the rest).
 */
export function encodeMessage(type: number, payload: Buffer = Buffer.alloc(0)): Buffer[] {
  if (payload.length > MAX_MESSAGE)
    throw new RangeError(`protocol: a message of ${payload.length} bytes exceeds ${MAX_MESSAGE}`);
  const header = Buffer.alloc(FRAME_HEADER_SIZE);
  header.writeUInt32LE(type, 0);
  header.writeUInt32LE(payload.length, 4);
  const first = MAX_DATAGRAM - FRAME_HEADER_SIZE;
  const datagrams: Buffer[] = [Buffer.concat([header, payload.subarray(0, first)])];
  for (let at = first; at < payload.length; at += MAX_DATAGRAM)
    datagrams.push(payload.subarray(at, at + MAX_DATAGRAM));
  return datagrams;
}

/** A message that fits in one datagram (what corral-init sends). */
export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const datagrams = encodeMessage(type, payload);
  if (datagrams.length > 1)
    throw new RangeError(`protocol: a frame of ${payload.length} bytes needs more than one datagram`);
  return datagrams[0]!;
}

export function decodeFrame(frame: Buffer): { type: number; payload: Buffer } {
  if (frame.length < FRAME_HEADER_SIZE) throw new RangeError('protocol: frame shorter than its header');
  const type = frame.readUInt32LE(0);
  const length = frame.readUInt32LE(4);
  if (length !== frame.length - FRAME_HEADER_SIZE)
    throw new RangeError('protocol: frame length does not match');
  return { type, payload: frame.subarray(FRAME_HEADER_SIZE) };
}

/** What corral-init reports when an op fails. opIndex is -1 for failures outside any op. */
export interface InitErrorReport {
  opIndex: number;
  errno: number;
  syscall: string;
  path: string;
  message: string;
}

export function decodeErrorReport(payload: Buffer): InitErrorReport {
  const r = new Reader(payload);
  return { opIndex: r.i32(), errno: r.i32(), syscall: r.str(), path: r.str(), message: r.str() };
}

export function encodeErrorReport(report: InitErrorReport): Buffer {
  const w = new Writer();
  w.u32(report.opIndex >>> 0);
  w.u32(report.errno >>> 0);
  w.str(report.syscall);
  w.str(report.path);
  w.str(report.message);
  return w.done();
}

/**
 * The GO payload: the container's state document, once, cut around its status value
 * (`state.before + status + state.after`), for the hooks that run in the container to read with
 * their own status; nothing when none runs there.
 */
export function encodeGo(state?: { before: string; after: string }): Buffer {
  const w = new Writer();
  w.u32(state ? 2 : 0);
  if (state) {
    w.str(state.before);
    w.str(state.after);
  }
  return w.done();
}

export function decodeChildStarted(payload: Buffer): { pid: number } {
  return { pid: new Reader(payload).u32() };
}

export function decodeLog(payload: Buffer): { level: number; message: string } {
  const r = new Reader(payload);
  return { level: r.u32(), message: r.str() };
}
