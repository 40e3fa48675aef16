import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { defaultSpec } from '@corral/core';
import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterAll, describe, expect, it } from 'vitest';

// On a host without systemd, --systemd-cgroup is accepted where it changes nothing and refused
// with one line where a container would need it. (The driver itself is tested in the VM.)
const corral = join(repoRoot, 'bin/corral');
const work = tempDir('no-systemd');
afterAll(() => work.remove());

const run = (...args: string[]) =>
  spawnSync(corral, ['--root', join(work.path, 'state'), ...args], { encoding: 'utf8', timeout: 60_000 });

// sd_booted(3): a host that runs systemd has /run/systemd/system.
describe.skipIf(existsSync('/run/systemd/system'))('--systemd-cgroup on a host without systemd', () => {
  it('lists containers as without it', () => {
    const list = run('--systemd-cgroup', 'list', '--quiet');
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
  });

  it('refuses to create a container, with one line naming the flag, leaving nothing', () => {
    cpSync(busyboxRootfs, join(work.path, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.process!.args = ['/bin/true'];
    writeFileSync(join(work.path, 'config.json'), JSON.stringify(spec));
    const id = uniqueName('nosd');
    for (const command of ['run', 'create']) {
      const result = run('--systemd-cgroup', command, '--bundle', work.path, id);
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        'corral: --systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use the cgroupfs driver (leave out --systemd-cgroup)\n',
      );
      const state = join(work.path, 'state');
      expect(existsSync(state) ? readdirSync(state) : []).toEqual([]);
    }
  });

  it('reports systemd: false in features', () => {
    const features = JSON.parse(run('features').stdout);
    expect(features.linux.cgroup.systemd).toBe(false);
  });
});
