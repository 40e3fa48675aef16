import { closeSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { Container, CreateContainerError, type Spec } from '../../src/index.js';
import {
  bundleMaker,
  disposeBundles,
  expectNothingLeft,
  mountPoints,
  type Output,
  outputFile,
  type TestBundle,
} from './bundle.js';

const made: TestBundle[] = [];
const outputs: Output[] = [];
afterEach(() => {
  for (const output of outputs.splice(0)) output.close();
  disposeBundles(made);
});

const bundleFor = bundleMaker(made);

function output(bundle: TestBundle, name?: string): Output {
  const file = outputFile(bundle, name);
  outputs.push(file);
  return file;
}

/** Container.create of the bundle, the process's stdout and stderr into `out`. */
function create(bundle: TestBundle, out: Output): Promise<Container> {
  return Container.create({
    id: bundle.id,
    bundle: bundle.path,
    root: bundle.stateRoot,
    stdio: ['ignore', out.fd, out.fd],
    warn: (message) => {
      throw new Error(`unexpected warning: ${message}`);
    },
  });
}

async function until(predicate: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 500 && !(await predicate()); i++) await sleep(10);
  expect(await predicate()).toBe(true);
}

function editConfig(bundle: TestBundle, edit: (spec: Spec) => void): void {
  const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8')) as Spec;
  edit(spec);
  bundle.writeConfig(spec);
}

/** A hook that appends the state it reads on stdin, as one line, to `file` in the bundle. */
function recordingHook(bundle: TestBundle, file: string) {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `cat >> ${join(bundle.path, file)}; echo >> ${join(bundle.path, file)}`],
  };
}

function recorded(bundle: TestBundle, file: string): Array<{ status: string; id: string }> {
  const path = join(bundle.path, file);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** No state directory, cgroup or process of the bundle's container is left. */
const nothingLeftOf = (bundle: TestBundle) => expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);

describe('Container', () => {
  it('walks a container through create, start, exec, kill and delete', async () => {
    const bundle = bundleFor(['/bin/probe', '--wait']);
    const out = output(bundle);
    const container = await create(bundle, out);
    expect(await container.status()).toBe('created');
    // Created means set up but not exec'd: nothing of the process has run.
    expect(out.text()).toBe('');

    await container.start();
    const init = await out.report();
    expect(init.pid).toBe(1);
    const state = await container.state();
    expect(state).toMatchObject({ id: bundle.id, status: 'running', bundle: bundle.path });
    await expect(container.start()).rejects.toMatchObject({ code: 'INVALID_STATE', status: 'running' });

    const execOut = output(bundle, 'exec');
    const exec = await container.exec(
      { ...container.spec().process!, args: ['/bin/probe'] },
      { stdio: ['ignore', execOut.fd, execOut.fd] },
    );
    expect(await exec.wait()).toEqual({ code: 0, signal: null });
    const tenant = await execOut.report();
    // Another process in the init's namespaces and cgroup.
    expect(tenant.pid).not.toBe(1);
    expect(tenant.namespaces).toEqual(init.namespaces);
    expect(tenant.cgroup).toEqual(init.cgroup);
    expect(Object.keys(tenant.fds)).toEqual(['0', '1', '2']);

    await expect(container.delete()).rejects.toMatchObject({ code: 'INVALID_STATE', status: 'running' });
    await container.signal(15);
    await until(async () => (await container.status()) === 'stopped');
    await expect(container.signal(15)).rejects.toThrow(/cannot kill container .*: it is stopped/);
    await container.delete();
    nothingLeftOf(bundle);
    expect(() => Container.load(bundle.stateRoot, bundle.id)).toThrow(
      expect.objectContaining({ code: 'CONTAINER_NOT_FOUND' }),
    );
  });

  it('keeps the config create accepted: a config.json replaced after create changes nothing', async () => {
    const bundle = bundleFor(['/bin/probe', '--wait'], (spec) => {
      spec.hostname = 'kept';
    });
    editConfig(bundle, (spec) => {
      spec.hooks = { poststop: [recordingHook(bundle, 'poststop')] };
    });
    const out = output(bundle);
    const container = await create(bundle, out);
    // The OCI lifecycle: changes to config.json after create do not affect the container.
    bundle.writeConfig({ ociVersion: '1.0.0' });
    await container.start();
    expect((await out.report()).hostname).toBe('kept');
    expect(container.spec().hostname).toBe('kept');
    const exec = await container.exec({ ...container.spec().process!, args: ['true'] });
    expect(await exec.wait()).toEqual({ code: 0, signal: null });
    await container.delete({ force: true });
    // The poststop hook of the config create accepted.
    expect(recorded(bundle, 'poststop')).toEqual([
      expect.objectContaining({ id: bundle.id, status: 'stopped' }),
    ]);
    nothingLeftOf(bundle);
  });

  it('runs the poststop hooks when a created container is deleted, as runc does', async () => {
    const bundle = bundleFor(['true']);
    editConfig(bundle, (spec) => {
      spec.hooks = { poststop: [recordingHook(bundle, 'poststop')] };
    });
    const container = await create(bundle, output(bundle));
    await container.delete();
    expect(recorded(bundle, 'poststop')).toEqual([expect.objectContaining({ status: 'stopped' })]);
    nothingLeftOf(bundle);
  });

  it('tears a failed create down completely, its poststop hooks included', async () => {
    const bundle = bundleFor(['true']);
    editConfig(bundle, (spec) => {
      spec.hooks = {
        createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }],
        poststop: [recordingHook(bundle, 'poststop')],
      };
    });
    const creating = create(bundle, output(bundle));
    await expect(creating).rejects.toThrow(
      /error running createRuntime hook #0: error running hook: exit status 3/,
    );
    await expect(creating).rejects.not.toBeInstanceOf(CreateContainerError);
    // The runtime spec: a failed createRuntime hook stops the container and goes on to poststop.
    expect(recorded(bundle, 'poststop')).toEqual([expect.objectContaining({ status: 'stopped' })]);
    nothingLeftOf(bundle);
  });

  it('two deletes of one container at once: one deletes it, the other finds it gone', async () => {
    const bundle = bundleFor(['sleep', '60']);
    await create(bundle, output(bundle));
    const results = await Promise.allSettled([
      Container.load(bundle.stateRoot, bundle.id).delete({ force: true }),
      Container.load(bundle.stateRoot, bundle.id).delete({ force: true }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: expect.objectContaining({ code: 'CONTAINER_NOT_FOUND' }),
    });
    nothingLeftOf(bundle);
  });

  // runc binds a pty onto /dev/console for the container's init only.
  it("exec -t leaves the container's /dev/console as it was", async () => {
    const bundle = bundleFor(['/bin/probe', '--wait']);
    const out = output(bundle);
    const container = await create(bundle, out);
    await container.start();
    const before = mountPoints(await out.report());
    const execOut = output(bundle, 'exec');
    // Silent, so that it never waits on an unread pty; the master stays open until it exits,
    // as closing it hangs the terminal up.
    const exec = await container.exec(
      { ...container.spec().process!, args: ['/bin/true'], terminal: true },
      { stdio: ['ignore', execOut.fd, execOut.fd] },
    );
    expect(exec.console).toBeGreaterThan(2);
    expect(await exec.wait()).toEqual({ code: 0, signal: null });
    closeSync(exec.console!);
    const init = (await container.state()).pid;
    const after = readFileSync(`/proc/${init}/mountinfo`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[4]);
    expect(after.filter((point) => point === '/dev/console')).toEqual(
      before.filter((point) => point === '/dev/console'),
    );
  });
});
