import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import { baseConfig, corralBin, corralSync, disposeBundles, makeBundle, type TestBundle } from './bundle.js';

// linux.netDevices: a host interface (one end of a veth pair the test makes) is lent to the
// container under another name and given back on delete.
const made: TestBundle[] = [];
const links: string[] = [];
afterEach(() => {
  disposeBundles(made);
  for (const link of links.splice(0))
    spawnSync('ip', ['link', 'del', link], { stdio: 'ignore', timeout: 60_000 });
});

const hostHas = (link: string) => spawnSync('ip', ['link', 'show', link], { stdio: 'ignore' }).status === 0;

function bundleWith(netDevices: unknown, edit: (spec: Spec) => void = () => {}): TestBundle {
  const spec = baseConfig(['sleep', '60']);
  spec.linux!.netDevices = netDevices;
  edit(spec);
  const bundle = makeBundle(spec);
  made.push(bundle);
  return bundle;
}

const corral = corralSync;

describe('linux.netDevices', () => {
  it('moves a host interface into the container under its new name, and back on delete', () => {
    const link = `cv${Math.random().toString(36).slice(2, 8)}`;
    execFileSync('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`], {
      timeout: 60_000,
    });
    links.push(link);
    const bundle = bundleWith({ [link]: { name: 'eth9' } });
    execFileSync(
      corralBin,
      ['--root', bundle.stateRoot, 'run', '--detach', '--bundle', bundle.path, bundle.id],
      {
        stdio: 'ignore',
        timeout: 60_000,
      },
    );
    expect(hostHas(link)).toBe(false);
    expect(corral(bundle, 'exec', bundle.id, 'ip', 'link', 'show', 'eth9').stdout).toMatch(/eth9@/);
    expect(corral(bundle, 'delete', '--force', bundle.id).status).toBe(0);
    expect(hostHas(link)).toBe(true);
  });

  it('refuses a device the host does not have, or a container without a network namespace of its own', () => {
    const missing = bundleWith({ nosuchlink0: {} });
    const result = corral(missing, 'run', '--bundle', missing.path, missing.id);
    expect(result.stderr).toMatch(/linux\.netDevices\["nosuchlink0"\]: cannot move it into the container/);
    expect(existsSync(join(missing.stateRoot, missing.id))).toBe(false);

    const shared = bundleWith({ lo: { name: 'lo2' } }, (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'network');
    });
    expect(corral(shared, 'run', '--bundle', shared.path, shared.id).stderr).toMatch(
      /linux\.netDevices: needs a network namespace of the container's own/,
    );
    const badName = bundleWith({ eth0: { name: 'a/b' } });
    expect(corral(badName, 'run', '--bundle', badName.path, badName.id).stderr).toMatch(
      /linux\.netDevices\["eth0"\]\.name: is not an interface name/,
    );
  });
});
