/**
 * The corral parent <-> corral-init protocol. protocol.h beside this file is the other half and
 * documents the wire format; the golden vectors in test/golden are checked by both sides.
 */

export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_SIZE = 8;
export const OP_HEADER_SIZE = 8;
export const MAX_MESSAGE = 256 * 1024;
export const MAX_OPS = 4096;

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
type FieldKind = 'u32' | 'u64' | 'str' | 'strs' | 'u32s';
interface FieldValue {
  u32: number;
  u64: bigint;
  str: string;
  strs: readonly string[];
  u32s: readonly number[];
}

/** Every op, its code and its fields in wire order. The C side's layouts must match. */
export const OPS = {
  joinNamespace: {
    code: 1,
    fields: [
      ['nstype', 'u32'],
      ['path', 'str'],
    ],
  },
  clone: { code: 2, fields: [['flags', 'u64']] },
  timeOffsets: {
    code: 3,
    fields: [
      ['monotonicSecs', 'u64'],
      ['monotonicNanosecs', 'u32'],
      ['boottimeSecs', 'u64'],
      ['boottimeNanosecs', 'u32'],
    ],
  },
  openMountSource: {
    code: 4,
    fields: [
      ['source', 'str'],
      ['flags', 'u32'],
    ],
  },
  waitGo: { code: 10, fields: [] },
  unshare: { code: 11, fields: [['flags', 'u64']] },
  setsid: { code: 12, fields: [] },
  dumpable: { code: 13, fields: [['value', 'u32']] },
  rootPropagation: { code: 20, fields: [['flags', 'u64']] },
  openRootfs: { code: 21, fields: [['path', 'str']] },
  mkdir: {
    code: 22,
    fields: [
      ['path', 'str'],
      ['mode', 'u32'],
    ],
  },
  mkfile: {
    code: 23,
    fields: [
      ['path', 'str'],
      ['mode', 'u32'],
    ],
  },
  mountFs: {
    code: 24,
    fields: [
      ['fstype', 'str'],
      ['source', 'str'],
      ['target', 'str'],
      ['attrSet', 'u64'],
      ['propagation', 'u32'],
      ['options', 'strs'],
    ],
  },
  mountBind: {
    code: 25,
    fields: [
      ['source', 'str'],
      ['target', 'str'],
      ['flags', 'u32'],
      ['attrSet', 'u64'],
      ['attrClear', 'u64'],
      ['propagation', 'u32'],
      ['userns', 'u32'],
    ],
  },
  mknod: {
    code: 26,
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
    fields: [
      ['target', 'str'],
      ['path', 'str'],
    ],
  },
  pivotRoot: { code: 28, fields: [] },
  chroot: { code: 29, fields: [] },
  maskPath: { code: 30, fields: [['path', 'str']] },
  readonlyPath: { code: 31, fields: [['path', 'str']] },
  remountRootReadonly: { code: 32, fields: [] },
  sethostname: { code: 40, fields: [['name', 'str']] },
  setdomainname: { code: 41, fields: [['name', 'str']] },
  rlimit: {
    code: 42,
    fields: [
      ['resource', 'u32'],
      ['soft', 'u64'],
      ['hard', 'u64'],
    ],
  },
  setgroups: { code: 43, fields: [['gids', 'u32s']] },
  setgid: { code: 44, fields: [['gid', 'u32']] },
  setuid: { code: 45, fields: [['uid', 'u32']] },
  capabilities: {
    code: 46,
    fields: [
      ['bounding', 'u64'],
      ['effective', 'u64'],
      ['permitted', 'u64'],
      ['inheritable', 'u64'],
      ['ambient', 'u64'],
    ],
  },
  noNewPrivileges: { code: 47, fields: [] },
  umask: { code: 48, fields: [['mask', 'u32']] },
  chdir: { code: 49, fields: [['path', 'str']] },
  openExecFifo: { code: 50, fields: [['path', 'str']] },
  waitExecFifo: { code: 51, fields: [] },
  runHook: {
    code: 52,
    fields: [
      ['path', 'str'],
      ['args', 'strs'],
      ['env', 'strs'],
      ['stateIndex', 'u32'],
      ['timeoutMs', 'u64'],
    ],
  },
  console: {
    code: 53,
    fields: [
      ['rows', 'u32'],
      ['columns', 'u32'],
    ],
  },
  preserveFds: { code: 54, fields: [['count', 'u32']] },
  joinSessionKeyring: { code: 55, fields: [['name', 'str']] },
  sysctl: {
    code: 56,
    fields: [
      ['name', 'str'],
      ['value', 'str'],
    ],
  },
  ioPriority: {
    code: 57,
    fields: [
      ['ioClass', 'u32'],
      ['level', 'u32'],
    ],
  },
  scheduler: {
    code: 58,
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
  personality: { code: 59, fields: [['domain', 'u32']] },
  cpuAffinity: { code: 62, fields: [['cpus', 'u32s']] },
  idmapUserns: {
    code: 63,
    fields: [
      ['uidLines', 'u32'],
      ['maps', 'u32s'],
    ],
  },
  signalReady: { code: 60, fields: [] },
  seccomp: {
    code: 70,
    fields: [
      ['flags', 'u32'],
      ['program', 'u32s'],
    ],
  },
  exec: {
    code: 61,
    fields: [
      ['file', 'str'],
      ['args', 'strs'],
      ['env', 'strs'],
    ],
  },
} as const satisfies Record<string, { code: number; fields: ReadonlyArray<readonly [string, FieldKind]> }>;

export type OpName = keyof typeof OPS;
type FieldsOf<K extends OpName> = (typeof OPS)[K]['fields'][number];
/** One op of a plan, e.g. `{ op: 'mkdir', path: '/dev', mode: 0o755 }`. */
export type InitOp = {
  [K in OpName]: { op: K } & { -readonly [F in FieldsOf<K> as F[0]]: FieldValue[F[1]] };
}[OpName];

/** CI_OP_MOUNT_BIND flags. */
export const BindFlags = { recursive: 1, attrRecursive: 2 } as const;

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

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_SIZE);
  header.writeUInt32LE(type, 0);
  header.writeUInt32LE(payload.length, 4);
  const frame = Buffer.concat([header, payload]);
  if (frame.length > MAX_MESSAGE)
    throw new RangeError(`protocol: message of ${frame.length} bytes exceeds ${MAX_MESSAGE}`);
  return frame;
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

/** The GO payload: the container state documents that in-container hooks read on stdin. */
export function encodeGo(hookStates: readonly string[] = []): Buffer {
  const w = new Writer();
  w.u32(hookStates.length);
  for (const state of hookStates) w.str(state);
  return w.done();
}

export function decodeChildStarted(payload: Buffer): { pid: number } {
  return { pid: new Reader(payload).u32() };
}

export function decodeLog(payload: Buffer): { level: number; message: string } {
  const r = new Reader(payload);
  return { level: r.u32(), message: r.str() };
}
