import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

import { flock } from '@corral/native';

import { honorsXdgRuntimeDir, runtimeUid } from '../container/rootless/mode.js';
import { CorralError, SystemError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { FRONT_PLAN_FILE, frontPlan } from './front-plan.js';

/** The state root of the host's root (runc's is /run/runc). */
export const DEFAULT_STATE_ROOT = '/run/corral';

/**
 * The state root when none is given: `$XDG_RUNTIME_DIR/corral` for a user (and for root of a user
 * namespace that is not the host's root), as runc keeps `$XDG_RUNTIME_DIR/runc`; else /run/corral.
 */
export function defaultStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return honorsXdgRuntimeDir(env) ? join(env.XDG_RUNTIME_DIR!, 'corral') : DEFAULT_STATE_ROOT;
}

/** The absolute state root: the one given, or the default. */
export function stateRootPath(root?: string): string {
  return resolve(root ?? defaultStateRoot());
}

// Node opens every descriptor close-on-exec already.
const OPEN_NOFOLLOW = constants.O_NOFOLLOW;

/** A state root no other user can put anything into, made for the user who runs corral. */
function refuseStateRoot(root: string, stats: Stats): void {
  const uid = runtimeUid();
  const problem = stats.isSymbolicLink()
    ? 'is a symbolic link; corral follows none in its state'
    : !stats.isDirectory()
      ? 'is not a directory'
      : stats.uid !== uid
        ? `permission denied: it belongs to uid ${stats.uid}, not to uid ${uid} who runs corral; corral never acts on another user's containers`
        : stats.mode & 0o022
          ? `can be written by other users (mode ${(stats.mode & 0o7777).toString(8)})`
          : '';
  if (problem) throw new CorralError('INVALID_STATE', `state root ${root}: ${problem}`);
}

/** Checks the state root, if there is one yet; returns whether there is. */
function checkStateRoot(root: string): boolean {
  let stats: Stats;
  try {
    stats = lstatSync(root);
  } catch (error) {
    if (isGone(error)) return false;
    throw SystemError.from(`state root ${root}`, error, root);
  }
  refuseStateRoot(root, stats);
  return true;
}

/**
 * Makes the state root if it is missing: 0711 for root (others may reach a container's files by
 * their names, never list them), 0700 for a user, and under $XDG_RUNTIME_DIR sticky as well, as
 * runc makes it, so that the session's periodic clean-up leaves it alone.
 */
function makeStateRoot(root: string): void {
  if (checkStateRoot(root)) return;
  const user = runtimeUid() !== 0;
  try {
    mkdirSync(root, { recursive: true, mode: user ? 0o700 : 0o711 });
    if (user && process.env.XDG_RUNTIME_DIR && root.startsWith(resolve(process.env.XDG_RUNTIME_DIR))) {
      chmodSync(root, 0o1700);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `: uid ${runtimeUid()} cannot make it; give --root a directory of this user's${user ? ' (or set XDG_RUNTIME_DIR)' : ''}`
        : '';
    throw new CorralError('SYSTEM', `state root ${root}: ${code ?? (error as Error).message}${hint}`, {
      cause: error,
    });
  }
  checkStateRoot(root);
}

/** What `state.json` records; the status is derived from it, never stored. */
export interface ContainerStateFile {
  ociVersion: string;
  id: string;
  /** The container's init process, and its start time to tell it from a later reuse of the pid. */
  pid: number;
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  /** The container's cgroup directories (controller, or '' for v2 -> path). */
  cgroupPaths?: Record<string, string>;
  /** The transient unit of a container made with the systemd cgroup driver. */
  systemdUnit?: string;
  /**
   * Made by a runtime that was not the host's root (runc's rootless cgroups): device rules were
   * left out where refused, and `cgroupMissing` says why the container has no cgroup (or not in
   * every hierarchy).
   */
  rootless?: { cgroupMissing?: string };
  /** Host interfaces lent to the container (linux.netDevices), given back on delete. */
  netDevices?: Array<{ host: string; name: string }>;
  /**
   * The config that create accepted, with the notify socket's mount when the runtime added one
   * (its process as the bundle gave it). Every later command reads it here: the bundle's
   * config.json may change or go once the container exists.
   */
  config: Spec;
  /** Set until create or restore has finished: the container is not yet whole. */
  creating?: true;
}

/** CONTAINER_NOT_FOUND for `id`. */
export function containerNotFound(id: string, cause?: unknown): CorralError {
  return new CorralError(
    'CONTAINER_NOT_FOUND',
    `container ${JSON.stringify(id)} does not exist`,
    cause === undefined ? undefined : { cause },
  );
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * One container's directory under the state root: state.json, the exec FIFO while the
 * container is created but not started, the lock file every command that acts on the
 * container takes, and the front plan of a plain container (front-plan.ts).
 */
export class ContainerDir {
  readonly id: string;
  readonly path: string;

  private constructor(root: string, id: string) {
    this.id = id;
    this.path = join(root, id);
  }

  /** Creates the directory (and the state root, if need be); only one caller can win for an id. */
  static create(root: string, id: string): ContainerDir {
    makeStateRoot(root);
    const dir = new ContainerDir(root, id);
    try {
      mkdirSync(dir.path, { mode: 0o711 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CorralError('CONTAINER_EXISTS', `container ${JSON.stringify(id)} already exists`, {
          cause: error,
        });
      }
      throw SystemError.from(`create the directory of container ${id}`, error, dir.path);
    }
    return dir;
  }

  /** The directory of an existing container (one with a state.json). */
  static open(root: string, id: string): ContainerDir {
    const dir = ContainerDir.at(root, id);
    if (!dir.hasState()) throw containerNotFound(id);
    return dir;
  }

  /** The directory by that id, whether or not it holds a container yet. */
  static at(root: string, id: string): ContainerDir {
    checkStateRoot(root);
    return new ContainerDir(root, id);
  }

  /** The ids under a state root: its directories (never a link to one), in id order. */
  static ids(root: string): string[] {
    if (!checkStateRoot(root)) return [];
    return readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  }

  get execFifoPath(): string {
    return join(this.path, 'exec.fifo');
  }

  get #lockPath(): string {
    return join(this.path, 'lock');
  }

  /** Whether the directory (a real one, not a link) holds a state.json (a file, not a link). */
  hasState(): boolean {
    const dir = lstatSync(this.path, { throwIfNoEntry: false });
    if (!dir?.isDirectory()) return false;
    return lstatSync(join(this.path, 'state.json'), { throwIfNoEntry: false })?.isFile() ?? false;
  }

  /** Whether the exec FIFO is there: the container is created and not yet started. */
  hasExecFifo(): boolean {
    return lstatSync(this.execFifoPath, { throwIfNoEntry: false })?.isFIFO() ?? false;
  }

  /**
   * Takes the container's lock; the returned function releases it. CONTAINER_NOT_FOUND when
   * the directory went (or was made anew) while waiting: whoever held the lock removed it.
   * Only the container's maker (`create`, `restore`, or the remover of what a killed one left)
   * makes the lock file: a waiter that made it again would put it back into a directory being
   * removed.
   */
  async lock(options: { create?: boolean } = {}): Promise<() => void> {
    let fd: number;
    try {
      const flags = options.create
        ? constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT
        : constants.O_RDWR;
      fd = openSync(this.#lockPath, flags | OPEN_NOFOLLOW, 0o600);
    } catch (error) {
      if (!isGone(error)) throw error;
      // A directory from before lock files were made at create has its state and no lock yet.
      if (options.create || !this.hasState()) throw containerNotFound(this.id, error);
      return this.lock({ create: true });
    }
    try {
      await flock(fd, { exclusive: true });
      // A lock on a file that is no longer the directory's own guards nothing.
      const held = fstatSync(fd);
      const current = lstatSync(this.#lockPath, { throwIfNoEntry: false });
      if (!current || current.ino !== held.ino || current.dev !== held.dev) throw containerNotFound(this.id);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return () => closeSync(fd);
  }

  /** The name of the user the directory belongs to (`#UID` when /etc/passwd has none). */
  ownerName(): string {
    const uid = lstatSync(this.path).uid;
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[2] === String(uid));
    return entry?.[0] || `#${uid}`;
  }

  readState(): ContainerStateFile {
    let fd: number;
    try {
      fd = openSync(join(this.path, 'state.json'), constants.O_RDONLY | OPEN_NOFOLLOW);
    } catch (error) {
      if (isGone(error)) throw containerNotFound(this.id, error);
      throw error;
    }
    try {
      return JSON.parse(readFileSync(fd, 'utf8')) as ContainerStateFile;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes state.json, and the front plan of a container the command line's C front can start
   * and delete (front-plan.ts), each so that a crash at any moment leaves the old or the new
   * file whole. A plan is never older than the state beside it: one that no longer holds goes
   * first, a new one comes after. `dumpPlan` gives the plan's checkpoint lines, asked only when
   * there is a plan (container/dump-basis.ts's dumpPlanLines).
   */
  writeState(state: ContainerStateFile, dumpPlan?: () => string[]): void {
    const plan = frontPlan(state, dumpPlan);
    if (plan === undefined) rmSync(join(this.path, FRONT_PLAN_FILE), { force: true });
    this.#writeWhole('state.json', JSON.stringify(state));
    if (plan !== undefined) this.#writeWhole(FRONT_PLAN_FILE, plan);
  }

  #writeWhole(name: string, text: string): void {
    const file = join(this.path, name);
    const temporary = `${file}.tmp`;
    // Made anew, never opened through whatever a crash (or anyone) left by that name.
    rmSync(temporary, { force: true });
    const fd = openSync(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | OPEN_NOFOLLOW,
      0o600,
    );
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true, maxRetries: 3 });
  }
}
