import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';

/** The runtime handlers the daemon offers: containerd's runc shim running each binary. */
export const RUNTIME_BINARIES = { runc: 'runc', corral: join(repoRoot, 'bin/corral') } as const;
export type RuntimeHandler = keyof typeof RUNTIME_BINARIES;

export interface CriDaemon {
  socket: string;
  work: string;
  /** The image the pods' sandboxes run: the test rootfs, its command a long sleep. */
  pauseImage: string;
  /** The image the containers run: the same rootfs. */
  image: string;
  /** The parent of every pod cgroup this daemon makes, from the hierarchies' roots. */
  cgroupParent: string;
  logs(): string;
  stop(): Promise<void>;
}

/** containerd's CRI plugin, with a runtime handler for runc and one for corral, and offline images. */
function criConfig(work: string, pauseImage: string): string {
  const runtime = (name: string, binary: string) => `
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}.options]
        BinaryName = "${binary}"`;
  return `version = 2
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(work, 'opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  disable_apparmor = true
  enable_selinux = false
  # Lower oom_score_adj values (the sandbox asks for -998) are refused on these machines.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${join(work, 'cni', 'bin')}"
    conf_dir = "${join(work, 'cni', 'conf')}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"${Object.entries(RUNTIME_BINARIES)
      .map(([name, binary]) => runtime(name, binary))
      .join('')}
`;
}

function ctr(socket: string, ...args: string[]) {
  return spawnSync('ctr', ['-a', socket, '--namespace', 'k8s.io', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/**
 * An OCI archive of an image made from the test rootfs (with `command` as its CMD), by a podman
 * of the test's own: the host's store is shared, and an image removed there by anyone else would
 * take the layer this one shares with it.
 */
export function rootfsImageArchive(work: string, name: string, command?: string[]): string {
  const conf = join(work, 'containers.conf');
  writeFileSync(conf, '[containers]\n');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const store = ['--root', join(work, 'podman'), '--runroot', join(work, 'podman-run')];
  const archive = join(work, `${name.replace(/[^\w]/g, '_')}.tar`);
  const change = command ? ['--change', `CMD ${JSON.stringify(command)}`] : [];
  execFileSync(
    'sh',
    [
      '-c',
      'dir="$1"; shift; tar -C "$dir" -c . | podman "$@" >/dev/null',
      'sh',
      busyboxRootfs,
      ...store,
      'import',
      ...change,
      '-',
      name,
    ],
    { env, timeout: 60_000 },
  );
  execFileSync('podman', [...store, 'save', '--format', 'oci-archive', '-o', archive, name], {
    env,
    stdio: 'ignore',
    timeout: 60_000,
  });
  return archive;
}

/** The image imported into the daemon's Kubernetes namespace, where the CRI finds it without a registry. */
function importImage(work: string, socket: string, name: string, command: string[]): void {
  const imported = ctr(socket, 'images', 'import', rootfsImageArchive(work, name, command));
  if (imported.status !== 0) throw new Error(`ctr images import ${name}: ${imported.stderr}`);
}

/** Where containerd's runc shim keeps the state of the Kubernetes namespace's containers. */
const SHIM_STATE_ROOT = '/run/containerd/runc/k8s.io';

/**
 * What a crashed earlier run left: containers whose bundle was in a daemon directory that is
 * gone, the shims of daemons whose socket is gone, and pod cgroups named for a dead process.
 */
async function removeLeftovers(): Promise<void> {
  const ours = (path: unknown) => typeof path === 'string' && path.startsWith(join(tmpdir(), 'corral-cri-'));
  for (const binary of Object.values(RUNTIME_BINARIES)) {
    const listed = spawnSync(binary, ['--root', SHIM_STATE_ROOT, 'list', '--format', 'json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    let containers: Array<{ id: string; bundle: string }> = [];
    try {
      containers = JSON.parse(listed.stdout) ?? [];
    } catch {
      // No state root yet.
    }
    for (const { id, bundle } of containers) {
      if (ours(bundle) && !existsSync(bundle)) {
        spawnSync(binary, ['--root', SHIM_STATE_ROOT, 'delete', '--force', id], { timeout: 60_000 });
      }
    }
  }
  for (const pid of shimsOf((socket) => ours(socket) && !existsSync(socket))) killQuietly(pid);
  for (const hierarchy of cgroupHierarchies()) {
    for (const name of existsSync(hierarchy) ? readdirSync(hierarchy) : []) {
      const creator = Number.parseInt(/^corral-cri-([a-z0-9]+)-/.exec(name)?.[1] ?? '', 36);
      if (Number.isFinite(creator) && !alive(creator)) await removeCgroupTree(`/${name}`);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a containerd of the test's own (root, state, socket, config) with the CRI plugin. */
export async function startCriDaemon(): Promise<CriDaemon> {
  await removeLeftovers();
  const dir = tempDir('cri');
  const work = dir.path;
  const socket = join(work, 'containerd.sock');
  const pauseImage = `localhost/${uniqueName('corral-pause')}:latest`;
  const image = `localhost/${uniqueName('corral-bb')}:latest`;
  const cgroupParent = `/${uniqueName('corral-cri')}`;
  for (const sub of ['cni/bin', 'cni/conf', 'opt', 'logs']) mkdirSync(join(work, sub), { recursive: true });
  const config = join(work, 'config.toml');
  writeFileSync(config, criConfig(work, pauseImage));
  let log = '';
  const daemon: ChildProcess = spawn(
    'containerd',
    ['--config', config, '--root', join(work, 'root'), '--state', join(work, 'state'), '--address', socket],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemon.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  // Ready once it answers, not once its socket exists; a loaded machine may take a while.
  for (let i = 0; i < 600 && !(existsSync(socket) && ctr(socket, 'version').status === 0); i++)
    await sleep(100);
  if (ctr(socket, 'version').status !== 0) throw new Error(`containerd did not start:\n${log.slice(-2000)}`);
  importImage(work, socket, pauseImage, ['/bin/sleep', '2147483647']);
  importImage(work, socket, image, ['/bin/sh']);
  return {
    socket,
    work,
    pauseImage,
    image,
    cgroupParent,
    logs: () => log,
    async stop() {
      // A pod a failed step left behind: its containers deleted by the runtime that made them
      // (the shim keeps their state under the runc root of containerd's namespace).
      const ids = ctr(socket, 'containers', 'ls', '-q').stdout.split('\n').filter(Boolean);
      for (const id of ids) {
        for (const binary of Object.values(RUNTIME_BINARIES)) {
          spawnSync(binary, ['--root', '/run/containerd/runc/k8s.io', 'delete', '--force', id], {
            timeout: 60_000,
          });
        }
      }
      daemon.kill('SIGTERM');
      await new Promise((resolve) =>
        daemon.exitCode !== null ? resolve(null) : daemon.once('exit', resolve),
      );
      for (const pid of shimsOf((address) => address === socket)) killQuietly(pid);
      // The shims' mounts under its state directory outlive a daemon that stops.
      spawnSync(
        'sh',
        ['-c', `grep -o " ${work}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`],
        {
          timeout: 60_000,
        },
      );
      await removeCgroupTree(cgroupParent);
      dir.remove();
    },
  };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** The shims whose daemon's socket (their `-address`) is one `matches` picks. */
function shimsOf(matches: (socket: string) => boolean): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const address = args[args.indexOf('-address') + 1];
        return args[0]?.includes('containerd-shim') && address !== undefined && matches(address);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The mount points of this host's cgroup hierarchies. */
function cgroupHierarchies(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => line.split(' ')[4]!);
}

/** Removes the pods' cgroups from every hierarchy, deepest first, killing what is left in them. */
async function removeCgroupTree(path: string): Promise<void> {
  const hierarchies = cgroupHierarchies();
  const deepestFirst = (dir: string): string[] => {
    if (!existsSync(dir)) return [];
    const subs = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    return [...subs.flatMap((entry) => deepestFirst(join(dir, entry.name))), dir];
  };
  for (const hierarchy of hierarchies) {
    for (const dir of deepestFirst(join(hierarchy, path))) {
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            killQuietly(Number(pid));
          }
          rmdirSync(dir);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
          await sleep(20);
        }
      }
    }
  }
}
