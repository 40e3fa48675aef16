import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { afterAll, describe, expect, it } from 'vitest';

import { NetworkConfigError, NetworkNamespace, Rtnetlink } from '../../src/index.js';
import { ipJson, TEST_NETNS_DIR, TestNamespaces } from './helpers.js';

const namespaces = new TestNamespaces('netns');
afterAll(() => namespaces.removeAll());

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

describe('NetworkNamespace', () => {
  it('creates a persistent namespace that ip sees, distinct from ours, and removes it', () => {
    const { netns, name } = namespaces.create();
    const path = `${TEST_NETNS_DIR}/${name}`;
    expect(mounted(path)).toBe(true);
    const ours = NetworkNamespace.current();
    expect(netns.id()).not.toBe(ours.id());
    ours.close();
    // A fresh namespace holds only a loopback device, and it is down.
    expect(ipJson(name, 'link', 'show')).toEqual([
      expect.objectContaining({ ifname: 'lo', operstate: 'DOWN' }),
    ]);
    const again = NetworkNamespace.fromPath(path);
    expect(again.id()).toBe(netns.id());
    again.close();
    netns.remove();
    expect(existsSync(path)).toBe(false);
    expect(mounted(path)).toBe(false);
  });

  it('refuses a name in use and a malformed name, changing nothing', () => {
    const { name } = namespaces.create();
    expect(() => NetworkNamespace.create(name, { runDir: TEST_NETNS_DIR })).toThrow(NetworkConfigError);
    expect(mounted(`${TEST_NETNS_DIR}/${name}`)).toBe(true);
    expect(() => NetworkNamespace.create('../escape', { runDir: TEST_NETNS_DIR })).toThrow(
      /name: a namespace name/,
    );
  });

  it('opens the namespace of a process by pid', async () => {
    const { netns, name } = namespaces.create();
    const child = spawn('ip', ['netns', 'exec', name, 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      // `ip netns exec` execs sleep in place, so the pid is the sleeping process.
      const ofChild = NetworkNamespace.fromPid(child.pid as number);
      expect(ofChild.id()).toBe(netns.id());
      ofChild.close();
    } finally {
      child.kill();
    }
  });

  it('refuses a file that is not a namespace, and a namespace of another kind', () => {
    expect(() => NetworkNamespace.fromPath('/etc/hostname')).toThrow(/not a namespace file/);
    const uts = NetworkNamespace.fromPath('/proc/self/ns/uts');
    try {
      expect(() => Rtnetlink.open(uts)).toThrow(/^netns: is not a network namespace/);
    } finally {
      uts.close();
    }
  });

  it('opens netlink sockets inside other namespaces without leaving ours', async () => {
    const first = namespaces.create();
    const second = namespaces.create();
    const inFirst = Rtnetlink.open(first.netns);
    const inSecond = Rtnetlink.open(second.netns);
    const here = NetworkNamespace.current();
    try {
      await inFirst.setLink('lo', { up: true });
      expect((await inFirst.getLink('lo'))?.up).toBe(true);
      expect((await inSecond.getLink('lo'))?.up).toBe(false);
      expect(ipJson(first.name, 'link', 'show', 'lo')).toEqual([
        expect.objectContaining({ operstate: 'UNKNOWN' }),
      ]);
      // This thread (and so every Node thread) is still in the namespace it started in.
      const now = NetworkNamespace.current();
      expect(now.id()).toBe(here.id());
      now.close();
    } finally {
      inFirst.close();
      inSecond.close();
      here.close();
    }
  });
});
