import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { mountNewNetns, NETLINK_ROUTE, openNetlinkSocket, unmountNetns } from '../../src/index.js';

const PREFIX = 'corral-native-netns-';

// A run that crashed left its namespace mounted: remove those whose process is gone.
for (const entry of readdirSync(tmpdir())) {
  const pid = entry.startsWith(PREFIX) ? Number(entry.slice(PREFIX.length).split('-')[0]) : Number.NaN;
  if (Number.isNaN(pid) || existsSync(`/proc/${pid}`)) continue;
  try {
    unmountNetns(join(tmpdir(), entry, 'ns'));
  } catch {
    // Never mounted, or already unmounted.
  }
  rmSync(join(tmpdir(), entry), { recursive: true, force: true });
}

const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
afterAll(() => {
  try {
    unmountNetns(join(dir, 'ns'));
  } catch {
    // Not mounted: the test unmounted it already.
  }
  rmSync(dir, { recursive: true, force: true });
});

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

describe('network namespace calls', () => {
  it('mounts a new namespace, opens a netlink socket inside it, and unmounts it', () => {
    const path = join(dir, 'ns');
    writeFileSync(path, '');
    mountNewNetns(path);
    expect(mounted(path)).toBe(true);
    // The file is now the namespace: on nsfs, unlike the empty file it covers.
    expect(statSync(path).dev).toBe(statSync('/proc/self/ns/net').dev);
    expect(statSync(path).ino).not.toBe(statSync('/proc/self/ns/net').ino);
    const netns = openSync(path, 'r');
    const socket = openNetlinkSocket(NETLINK_ROUTE, netns);
    expect(socket).toBeGreaterThan(2);
    closeSync(socket);
    closeSync(netns);
    unmountNetns(path);
    expect(mounted(path)).toBe(false);
  });

  it('opens a netlink socket in our own namespace', () => {
    const socket = openNetlinkSocket(NETLINK_ROUTE);
    expect(socket).toBeGreaterThan(2);
    closeSync(socket);
  });

  it('reports the failing call and errno', () => {
    const notNamespace = openSync('/etc/hostname', 'r');
    try {
      expect(() => openNetlinkSocket(NETLINK_ROUTE, notNamespace)).toThrow(
        expect.objectContaining({ syscall: 'setns', code: 'EINVAL' }),
      );
    } finally {
      closeSync(notNamespace);
    }
    expect(() => mountNewNetns(join(dir, 'missing'))).toThrow(
      expect.objectContaining({ syscall: 'mount', code: 'ENOENT' }),
    );
    expect(() => unmountNetns(dir)).toThrow(expect.objectContaining({ syscall: 'umount2', code: 'EINVAL' }));
  });
});
