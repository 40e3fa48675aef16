import { symlinkSync, writeFileSync } from 'node:fs';

import { mkfifo } from '@corral/native';
import { tempDir } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { check } from '../../src/container/operation.js';
import { type ContainerStatus, can, deriveStatus, type Operation } from '../../src/container/status.js';
import { defaultSpec, InvalidStateError } from '../../src/index.js';
import { processStartTime } from '../../src/state/proc.js';
import { ContainerDir, type ContainerStateFile } from '../../src/state/state-dir.js';

const STATUSES: ContainerStatus[] = ['creating', 'created', 'running', 'paused', 'stopped'];

/** Each operation and the statuses it is allowed in: the OCI runtime spec's rules, and runc's. */
const ALLOWED: Record<Operation, ContainerStatus[]> = {
  start: ['created'],
  kill: ['created', 'running', 'paused'],
  killAll: ['created', 'running', 'paused', 'stopped'],
  delete: ['created', 'stopped'],
  forceDelete: STATUSES,
  pause: ['running'],
  resume: ['paused'],
  exec: ['running'],
  execIgnoringPause: ['running', 'paused'],
  update: ['created', 'running', 'paused'],
  checkpoint: ['running', 'paused'],
  stats: ['created', 'running', 'paused'],
};

describe('can', () => {
  for (const [operation, allowed] of Object.entries(ALLOWED) as Array<[Operation, ContainerStatus[]]>) {
    it(`${operation}: ${allowed.join(', ')}`, () => {
      expect(STATUSES.filter((status) => can[operation](status))).toEqual(allowed);
    });
  }

  it('covers every operation', () => {
    expect(Object.keys(can).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('refuses with the status and the operation in the message', () => {
    expect(() => check('start', 'web', 'running')).toThrow(InvalidStateError);
    expect(() => check('exec', 'web', 'paused', ' (use --ignore-paused to override)')).toThrow(
      'cannot exec into container web: it is paused (use --ignore-paused to override)',
    );
    expect(() => check('checkpoint', 'web', 'created')).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE', status: 'created' }),
    );
    expect(() => check('forceDelete', 'web', 'creating')).not.toThrow();
  });
});

describe('deriveStatus', () => {
  const dirs: Array<{ remove: () => void }> = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.remove();
  });

  function container(edit: Partial<ContainerStateFile> = {}) {
    const root = tempDir('status');
    dirs.push(root);
    const dir = ContainerDir.create(root.path, 'c');
    const state: ContainerStateFile = {
      ociVersion: '1.2.0',
      id: 'c',
      // This test's own process stands in for a live init.
      pid: process.pid,
      pidStartTime: processStartTime(process.pid)!,
      bundle: '/b',
      rootfs: '/b/rootfs',
      created: new Date(0).toISOString(),
      config: defaultSpec(),
      ...edit,
    };
    dir.writeState(state);
    return { dir, state: dir.readState() };
  }

  it('is running while the recorded init lives', async () => {
    const { dir, state } = container();
    expect(await deriveStatus(dir, state)).toBe('running');
  });

  it('is created while the exec FIFO is there', async () => {
    const { dir, state } = container();
    mkfifo(dir.execFifoPath, 0o600);
    expect(await deriveStatus(dir, state)).toBe('created');
  });

  it('takes no file for the exec FIFO, nor a link to a FIFO elsewhere', async () => {
    const { dir, state } = container();
    writeFileSync(dir.execFifoPath, '');
    expect(await deriveStatus(dir, state)).toBe('running');
    dir.remove();
    const other = container();
    mkfifo(`${other.dir.path}/elsewhere`, 0o600);
    symlinkSync(`${other.dir.path}/elsewhere`, other.dir.execFifoPath);
    expect(await deriveStatus(other.dir, other.state)).toBe('running');
  });

  it('is creating until create (or restore) has finished', async () => {
    const { dir, state } = container({ creating: true });
    expect(await deriveStatus(dir, state)).toBe('creating');
  });

  it('is stopped when the pid is gone, none was recorded yet, or it is another process now', async () => {
    for (const edit of [{ pid: 0, pidStartTime: '' }, { pidStartTime: '1' }, { pid: 2 ** 22 + 1 }]) {
      const { dir, state } = container({ ...edit, creating: true });
      expect(await deriveStatus(dir, state)).toBe('stopped');
    }
  });
});
