import { uniqueName } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CriClient, CriError } from './cri-client.js';
import { type CriDaemon, type RuntimeHandler, startCriDaemon } from './cri-containerd.js';

// Kubernetes' view of a runtime: containerd's CRI plugin (a daemon of the test's own, with a
// runtime handler for runc and one for corral) driven through the CRI v1 gRPC API as the
// kubelet drives it, through a pod's whole life. Each step's answer and the CRI states that
// follow are recorded, and corral's record must be runc's.

let daemon: CriDaemon;
let cri: CriClient;

beforeAll(async () => {
  daemon = await startCriDaemon();
  cri = new CriClient(daemon.socket);
}, 180_000);

afterAll(async () => {
  cri?.close();
  await daemon?.stop();
}, 120_000);

type Record_ = Array<[step: string, answer: string]>;

/**
 * What a call answered: ok, or the gRPC status code (the message, which names ids of this run,
 * is printed for the reader instead of compared).
 */
async function answer(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    if (!(error instanceof CriError)) throw error;
    console.info(`CRI ${error.code}: ${error.message}`);
    return error.code;
  }
}

async function sandboxState(id: string): Promise<string> {
  try {
    const { status } = await cri.call<{ status: { state: string } }>('PodSandboxStatus', {
      pod_sandbox_id: id,
    });
    return status.state;
  } catch (error) {
    if (error instanceof CriError) return error.code;
    throw error;
  }
}

async function containerState(id: string): Promise<string> {
  try {
    const { status } = await cri.call<{ status: { state: string; exit_code: number } }>('ContainerStatus', {
      container_id: id,
    });
    return status.state === 'CONTAINER_EXITED' ? `${status.state} ${status.exit_code}` : status.state;
  } catch (error) {
    if (error instanceof CriError) return error.code;
    throw error;
  }
}

/** Polls a state (the CRI reports an exit once the shim has seen it) until it is `wanted`. */
async function settle(read: () => Promise<string>, wanted: RegExp): Promise<string> {
  let state = await read();
  for (let i = 0; i < 100 && !wanted.test(state); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = await read();
  }
  return state;
}

/**
 * A pod as the kubelet runs one: host network (no CNI here), a pid namespace per container, one
 * container whose shell exits 3 on SIGTERM; exec, stop, remove, stop and remove the sandbox.
 */
async function podLifecycle(handler: RuntimeHandler): Promise<Record_> {
  const seen: Record_ = [];
  const note = (step: string, value: string) => seen.push([step, value]);
  const name = uniqueName('pod');
  const sandboxConfig = {
    metadata: { name, uid: name, namespace: 'corral-test', attempt: 0 },
    log_directory: `${daemon.work}/logs/${name}`,
    linux: {
      cgroup_parent: `${daemon.cgroupParent}/${name}`,
      security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
  let sandbox = '';
  let container = '';
  let removed = false;
  try {
    note(
      'run sandbox',
      await answer(async () => {
        ({ pod_sandbox_id: sandbox } = await cri.call<{ pod_sandbox_id: string }>('RunPodSandbox', {
          config: sandboxConfig,
          runtime_handler: handler,
        }));
      }),
    );
    note('sandbox state', await sandboxState(sandbox));
    note(
      'create container',
      await answer(async () => {
        ({ container_id: container } = await cri.call<{ container_id: string }>('CreateContainer', {
          pod_sandbox_id: sandbox,
          sandbox_config: sandboxConfig,
          config: {
            metadata: { name: 'main', attempt: 0 },
            image: { image: daemon.image },
            command: ['/bin/sh', '-c', 'trap "exit 3" TERM; echo started; while :; do sleep 1; done'],
            log_path: 'main.log',
          },
        }));
      }),
    );
    note('container state after create', await containerState(container));
    note('start container', await answer(() => cri.call('StartContainer', { container_id: container })));
    note('container state after start', await containerState(container));
    let exec = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exit_code: -1 };
    note(
      'exec',
      await answer(async () => {
        exec = await cri.call('ExecSync', {
          container_id: container,
          cmd: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 5'],
          timeout: 30,
        });
      }),
    );
    note(
      'exec result',
      `${exec.exit_code} ${JSON.stringify(String(exec.stdout))} ${JSON.stringify(String(exec.stderr))}`,
    );
    note(
      'stop container',
      await answer(() => cri.call('StopContainer', { container_id: container, timeout: 10 })),
    );
    note('container state after stop', await settle(() => containerState(container), /EXITED/));
    note('remove container', await answer(() => cri.call('RemoveContainer', { container_id: container })));
    note('container state after remove', await containerState(container));
    note('stop sandbox', await answer(() => cri.call('StopPodSandbox', { pod_sandbox_id: sandbox })));
    note('sandbox state after stop', await sandboxState(sandbox));
    const removal = await answer(() => cri.call('RemovePodSandbox', { pod_sandbox_id: sandbox }));
    removed = removal === 'ok';
    note('remove sandbox', removal);
    note('sandbox state after remove', await sandboxState(sandbox));
  } finally {
    // A failed step leaves the pod: the kubelet's own retries (stop and remove are idempotent).
    if (sandbox && !removed) {
      await answer(() => cri.call('StopPodSandbox', { pod_sandbox_id: sandbox }));
      await answer(() => cri.call('RemovePodSandbox', { pod_sandbox_id: sandbox }));
    }
  }
  return seen;
}

/** What the kubelet expects at each step, and what runc answers. */
const EXPECTED: Record_ = [
  ['run sandbox', 'ok'],
  ['sandbox state', 'SANDBOX_READY'],
  ['create container', 'ok'],
  ['container state after create', 'CONTAINER_CREATED'],
  ['start container', 'ok'],
  ['container state after start', 'CONTAINER_RUNNING'],
  ['exec', 'ok'],
  ['exec result', '5 "out\\n" "err\\n"'],
  ['stop container', 'ok'],
  ['container state after stop', 'CONTAINER_EXITED 3'],
  ['remove container', 'ok'],
  ['container state after remove', 'NOT_FOUND'],
  ['stop sandbox', 'ok'],
  ['sandbox state after stop', 'SANDBOX_NOTREADY'],
  ['remove sandbox', 'ok'],
  ['sandbox state after remove', 'NOT_FOUND'],
];

let runcRecord: Record_ | undefined;

describe("a Kubernetes pod's lifecycle through containerd's CRI", () => {
  it('finds both images the CRI plugin needs without a registry', async () => {
    for (const image of [daemon.pauseImage, daemon.image]) {
      const { image: found } = await cri.image<{ image: { repo_tags: string[] } | null }>('ImageStatus', {
        image: { image },
      });
      expect(found?.repo_tags).toContain(image);
    }
  });

  it('runs, execs into, stops and removes a pod with runc', async () => {
    runcRecord = await podLifecycle('runc');
    expect(runcRecord).toEqual(EXPECTED);
  }, 180_000);

  it('answers every step with corral as with runc', async () => {
    runcRecord ??= await podLifecycle('runc');
    expect(await podLifecycle('corral')).toEqual(runcRecord);
  }, 180_000);
});
