// Namespaces for system tests: made under /run/netns so that `ip -n NAME` (the independent
// checker) sees them, named after the test file and this process, and removed even when a test
// fails. Leftovers of an earlier run whose process is gone are removed first.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { NetworkNamespace } from '../../src/index.js';

export const TEST_NETNS_DIR = '/run/netns';
export const busybox = join(import.meta.dirname, '../../../../tooling/rootfs/out/busybox/bin/busybox');

/** A short random tag for interface names (which have at most 15 bytes). */
export function tag(): string {
  return Math.random().toString(36).slice(2, 7);
}

/** Namespaces for one test file: `nwt-FILE-PID-N`. */
export class TestNamespaces {
  readonly #prefix: string;
  readonly #made: NetworkNamespace[] = [];

  constructor(file: string) {
    this.#prefix = `nwt-${file}-`;
    this.#removeStale();
  }

  create(): { netns: NetworkNamespace; name: string } {
    const name = `${this.#prefix}${process.pid}-${this.#made.length}`;
    const netns = NetworkNamespace.create(name, { runDir: TEST_NETNS_DIR });
    this.#made.push(netns);
    return { netns, name };
  }

  removeAll(): void {
    for (const netns of this.#made.splice(0)) netns.remove();
  }

  /** Namespaces of this file left by a process that no longer runs. */
  #removeStale(): void {
    if (!existsSync(TEST_NETNS_DIR)) return;
    for (const entry of readdirSync(TEST_NETNS_DIR)) {
      if (!entry.startsWith(this.#prefix)) continue;
      const pid = Number(entry.slice(this.#prefix.length).split('-')[0]);
      if (pid === process.pid || existsSync(`/proc/${pid}`)) continue;
      NetworkNamespace.removePath(join(TEST_NETNS_DIR, entry));
    }
  }
}

/** `ip -n NAME ARGS -j`, parsed. */
export function ipJson(netns: string, ...args: string[]): unknown {
  const output = execFileSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' });
  return output.trim() ? JSON.parse(output) : [];
}

/** True when `ip -n NAME link show DEV` finds the device. */
export function linkExists(netns: string, device: string): boolean {
  return spawnSync('ip', ['-n', netns, 'link', 'show', 'dev', device], { stdio: 'ignore' }).status === 0;
}

/** One ping from inside a namespace; true when it was answered. */
export function ping(netns: string, address: string, count = 1): boolean {
  const applet = address.includes(':') ? 'ping6' : 'ping';
  const run = spawnSync(
    'ip',
    ['netns', 'exec', netns, busybox, applet, '-c', String(count), '-W', '1', address],
    {
      encoding: 'utf8',
    },
  );
  return run.status === 0;
}

/** Waits for `check` to hold (carrier and neighbours take a moment), up to `ms`. */
export async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
