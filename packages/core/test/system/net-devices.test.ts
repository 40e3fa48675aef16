import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { Container, runContainer, type Spec } from '../../src/index.js';
import { baseConfig, disposeBundles, makeBundle, outputFile, type TestBundle } from './bundle.js';

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

/** runContainer of the bundle, refused: the error it rejects with; nothing is left. */
async function refusal(bundle: TestBundle): Promise<unknown> {
  const error = await runContainer({ id: bundle.id, bundle: bundle.path, root: bundle.stateRoot }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(readdirSync(bundle.stateRoot)).toEqual([]);
  return error;
}

describe('linux.netDevices', () => {
  it('moves a host interface into the container under its new name, and back on delete', async () => {
    const link = `cv${Math.random().toString(36).slice(2, 8)}`;
    execFileSync('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`], {
      timeout: 60_000,
    });
    links.push(link);
    const bundle = bundleWith({ [link]: { name: 'eth9' } });
    const out = outputFile(bundle);
    try {
      const container = await Container.create({
        id: bundle.id,
        bundle: bundle.path,
        root: bundle.stateRoot,
        stdio: ['ignore', out.fd, out.fd],
      });
      await container.start();
      expect(hostHas(link)).toBe(false);
      const exec = await container.exec(
        { ...container.spec().process!, args: ['ip', 'link', 'show', 'eth9'] },
        { stdio: ['ignore', out.fd, out.fd] },
      );
      expect(await exec.wait()).toEqual({ code: 0, signal: null });
      expect(out.text()).toMatch(/eth9@/);
      await container.delete({ force: true });
      expect(hostHas(link)).toBe(true);
    } finally {
      out.close();
    }
  });

  it('refuses a device the host does not have, or a container without a network namespace of its own', async () => {
    expect(await refusal(bundleWith({ nosuchlink0: {} }))).toMatchObject({
      code: 'SYSTEM',
      message: expect.stringMatching(
        /^linux\.netDevices\["nosuchlink0"\]: cannot move it into the container/,
      ),
    });
    const shared = bundleWith({ lo: { name: 'lo2' } }, (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'network');
    });
    expect(await refusal(shared)).toMatchObject({
      field: 'linux.netDevices',
      message: expect.stringMatching(/needs a network namespace of the container's own/),
    });
    expect(await refusal(bundleWith({ eth0: { name: 'a/b' } }))).toMatchObject({
      field: 'linux.netDevices["eth0"].name',
      message: expect.stringMatching(/is not an interface name/),
    });
  });
});
