import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { createTestUser, type TestUser } from '@corral/tooling/test-user';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corralBin } from '../../../core/test/system/bundle.js';

// corral run by an unprivileged user, as the user runs it: `corral spec --rootless`, then the
// lifecycle, id maps with and without newuidmap, devices, and what a user cannot have.

/** Subordinate ids for the user that has them (the other has none: useradd gives it none). */
const SUBORDINATE = { start: 3_000_000 + (process.pid % 1000) * 65536, count: 65536 };

let user: TestUser;
let bare: TestUser;

beforeAll(async () => {
  user = await createTestUser({ subordinate: SUBORDINATE });
  bare = await createTestUser();
}, 120_000);

afterAll(async () => {
  await user?.remove();
  await bare?.remove();
}, 120_000);

interface Probe {
  uid: number[];
  gid: number[];
  groups: number[];
  mountinfo: string[];
  uidMap: string;
  gidMap: string;
  setgroups: string;
}

/** The probe, then the maps and setgroups of its user namespace, as one object. */
const PROBE = [
  'sh',
  '-c',
  'probe; echo; cat /proc/self/uid_map; echo =; cat /proc/self/gid_map; echo =; cat /proc/self/setgroups',
];

function parseProbe(stdout: string): Probe {
  const [json, rest] = [stdout.slice(0, stdout.indexOf('\n')), stdout.slice(stdout.indexOf('\n') + 1)];
  const [uidMap, gidMap, setgroups] = rest.split('=\n').map((part) => part.trim().replace(/\s+/g, ' '));
  return { ...JSON.parse(json), uidMap: uidMap!, gidMap: gidMap!, setgroups: setgroups! };
}

/** The container directories under a state root (nothing else of the test's may be there). */
function containersIn(root: string): string[] {
  return existsSync(root) ? readdirSync(root) : [];
}

const stateRoot = (who: TestUser) => join(who.runtimeDir, 'corral');

/** runc run of the user's bundle, with its state beside corral's. */
function runcRun(bundle: { dir: string; id: string }) {
  return user.run('/usr/sbin/runc', [
    '--root',
    join(user.runtimeDir, 'runc'),
    'run',
    '-b',
    bundle.dir,
    bundle.id,
  ]);
}

describe('corral run by a user', () => {
  it('runs the bundle of corral spec --rootless as runc does: root inside is the user, setgroups denied', () => {
    const bundle = user.bundle(PROBE);
    const corral = user.corralRun(['run', '--bundle', bundle.dir, bundle.id]);
    expect(corral.stderr).toBe('');
    expect(corral.status).toBe(0);
    const seen = parseProbe(corral.stdout);
    expect(seen.uid).toEqual([0, 0, 0]);
    expect(seen.gid).toEqual([0, 0, 0]);
    expect(seen.uidMap).toBe(`0 ${user.uid} 1`);
    expect(seen.gidMap).toBe(`0 ${user.gid} 1`);
    expect(seen.setgroups).toBe('deny');
    const runc = runcRun(bundle);
    expect(runc.status).toBe(0);
    const runcSaw = parseProbe(runc.stdout);
    for (const key of ['uid', 'gid', 'groups', 'uidMap', 'gidMap', 'setgroups'] as const)
      expect(seen[key]).toEqual(runcSaw[key]);
    // The state root is the user's, under its XDG_RUNTIME_DIR: 0700 and sticky, as runc makes it.
    const root = lstatSync(stateRoot(user));
    expect([root.uid, root.mode & 0o7777]).toEqual([user.uid, 0o1700]);
    expect(containersIn(stateRoot(user))).toEqual([]);
  });

  it('creates, starts, execs into, kills and deletes a container', async () => {
    const bundle = user.bundle(['sleep', '1000']);
    const corral = (...args: string[]) => user.corralRun(args);
    expect(user.corralRun(['create', '--bundle', bundle.dir, bundle.id], { detached: true }).stderr).toBe('');
    const state = () => JSON.parse(corral('state', bundle.id).stdout);
    expect(state().status).toBe('created');
    const dir = join(stateRoot(user), bundle.id);
    expect(lstatSync(dir).uid).toBe(user.uid);
    expect(user.corralRun(['start', bundle.id], { detached: true }).status).toBe(0);
    expect(state().status).toBe('running');
    const exec = corral('exec', bundle.id, 'sh', '-c', 'id -u; ps -o pid,comm | grep -c sleep');
    expect(exec.stderr).toBe('');
    expect(exec.stdout).toBe('0\n1\n');
    const list = corral('list', '--format', 'json');
    // Its owner is the user, as runc's list says it.
    expect(JSON.parse(list.stdout).map((c: { id: string; owner: string }) => [c.id, c.owner])).toEqual([
      [bundle.id, user.name],
    ]);
    expect(corral('kill', bundle.id, 'KILL').status).toBe(0);
    for (let i = 0; i < 200 && state().status !== 'stopped'; i++) await sleep(10);
    expect(state().status).toBe('stopped');
    expect(corral('delete', bundle.id).status).toBe(0);
    expect(containersIn(stateRoot(user))).toEqual([]);
  });

  it('maps subordinate ids through newuidmap and newgidmap, as runc does; setgroups stays allowed', () => {
    const sub = SUBORDINATE.start;
    const bundle = user.bundle(PROBE, (config) => {
      config.linux.uidMappings = [
        { containerID: 0, hostID: user.uid, size: 1 },
        { containerID: 1, hostID: sub, size: 65536 },
      ];
      config.linux.gidMappings = [
        { containerID: 0, hostID: user.gid, size: 1 },
        { containerID: 1, hostID: sub, size: 65536 },
      ];
    });
    const corral = user.corralRun(['run', '--bundle', bundle.dir, bundle.id]);
    expect(corral.stderr).toBe('');
    const seen = parseProbe(corral.stdout);
    expect(seen.uidMap).toBe(`0 ${user.uid} 1 1 ${sub} 65536`);
    expect(seen.gidMap).toBe(`0 ${user.gid} 1 1 ${sub} 65536`);
    expect(seen.setgroups).toBe('allow');
    const runc = runcRun(bundle);
    const runcSaw = parseProbe(runc.stdout);
    for (const key of ['uid', 'gid', 'groups', 'uidMap', 'gidMap', 'setgroups'] as const)
      expect(seen[key]).toEqual(runcSaw[key]);
  });

  it("maps the container's root to a subordinate id, which runc cannot (it chowns its FIFO to it)", () => {
    const sub = SUBORDINATE.start;
    const bundle = user.bundle(PROBE, (config) => {
      config.linux.uidMappings = [{ containerID: 0, hostID: sub, size: 65536 }];
      config.linux.gidMappings = [{ containerID: 0, hostID: sub, size: 65536 }];
    });
    const corral = user.corralRun(['run', '--bundle', bundle.dir, bundle.id]);
    expect(corral.stderr).toBe('');
    expect(parseProbe(corral.stdout).uidMap).toBe(`0 ${sub} 65536`);
  });

  it('says which tool it needs when newuidmap is not on PATH, and leaves nothing behind', () => {
    const bundle = user.bundle(['true'], (config) => {
      config.linux.uidMappings.push({ containerID: 1, hostID: SUBORDINATE.start, size: 10 });
    });
    const emptyPath = join(user.work, 'empty-bin');
    mkdirSync(emptyPath, { recursive: true });
    const result = user.corralRun(['run', '--bundle', bundle.dir, bundle.id], {
      env: { ...user.env, PATH: emptyPath },
    });
    expect(result.stderr).toBe(
      `corral: invalid config: linux.uidMappings: maps more than uid ${user.uid} alone, which takes newuidmap (Debian's uidmap package), and there is none on PATH\n`,
    );
    expect(result.status).toBe(1);
    expect(containersIn(stateRoot(user))).toEqual([]);
  });

  it.each([
    ['without', false],
    ['with', true],
  ])('shows each cgroup hierarchy at /sys/fs/cgroup as the cgroup it stays in, none being delegated, %s a cgroup namespace, as runc does', (_, cgroupns) => {
    // Its cgroups, the hierarchies it can read, and (sorted: the kernel lists mounts by id,
    // which differs with how they were made) root, mount point, type and options of each mount there.
    const view = [
      'cat /proc/self/cgroup; echo ==; ls /sys/fs/cgroup/*/cgroup.procs; echo ==',
      'grep " /sys/fs/cgroup[/ ]" /proc/self/mountinfo | sed -E "s/^(\\S+ ){3}(\\S+ \\S+) .* - (\\S+) \\S+ /\\2 \\3 /" | sort',
    ].join('; ');
    const bundle = user.bundle(['sh', '-c', view], (config) => {
      if (cgroupns) config.linux.namespaces.push({ type: 'cgroup' });
    });
    const corral = user.corralRun(['run', '--bundle', bundle.dir, bundle.id]);
    expect(corral.stderr).toBe('');
    expect(corral.status).toBe(0);
    const [cgroups = '', , mountLines = ''] = corral.stdout.split('==\n');
    const mounts = mountLines
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    // Not the host's whole tree: the user's own cgroup, or the root of a namespace made there.
    for (const line of cgroups.trim().split('\n')) {
      const [, controllers, path] = line.split(':');
      if (!controllers) continue;
      expect(mounts).toContainEqual([
        cgroupns ? '/' : path,
        expect.stringMatching(/^\/sys\/fs\/cgroup\/[^/]+$/),
        'cgroup',
        expect.stringContaining(controllers),
      ]);
    }
    const runc = runcRun(bundle);
    expect(runc.stderr).toBe('');
    expect(corral.stdout).toBe(runc.stdout);
  });

  it("binds the host's device nodes into /dev, as it cannot make them", () => {
    const bundle = user.bundle(
      ['sh', '-c', 'probe; stat -c "%t:%T %u" /dev/null /dev/fuse; echo x > /dev/null'],
      (config) => {
        config.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666 }];
      },
    );
    const result = user.corralRun(['run', '--bundle', bundle.dir, bundle.id]);
    expect(result.stderr).toBe('');
    const [json, ...stats] = result.stdout.trim().split('\n');
    const mounts = (JSON.parse(json!) as Probe).mountinfo.map((line) => line.split(' ')[4]);
    expect(mounts).toContain('/dev/null');
    expect(mounts).toContain('/dev/fuse');
    // The host's nodes, owned by the host's root, whom the user namespace does not map.
    expect(stats).toEqual(['1:3 65534', 'a:e5 65534']);
  });
});

describe('what a user cannot have', () => {
  /** Runs a config that must be refused: one line, status 1, and nothing left of it. */
  function refused(who: TestUser, edit: (config: Record<string, any>) => void, args: string[] = []) {
    const bundle = who.bundle(['true'], edit);
    const before = containersIn(stateRoot(who));
    const result = who.corralRun([...args, 'run', '--bundle', bundle.dir, bundle.id]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(containersIn(stateRoot(who))).toEqual(before);
    return result.stderr.trim();
  }

  it('refuses host interfaces (linux.netDevices), naming the field', () => {
    expect(
      refused(user, (config) => {
        config.linux.namespaces.push({ type: 'network' });
        config.linux.netDevices = { lo: { name: 'eth0' } };
      }),
    ).toMatch(/^corral: invalid config: linux\.netDevices\["lo"\]: moving a host interface .* CAP_NET_ADMIN/);
  });

  it('refuses a config without a user namespace, additional groups and raised hard limits', () => {
    expect(
      refused(user, (config) => {
        config.linux.namespaces = config.linux.namespaces.filter(
          (ns: { type: string }) => ns.type !== 'user',
        );
        delete config.linux.uidMappings;
        delete config.linux.gidMappings;
      }),
    ).toMatch(
      /^corral: invalid config: linux\.namespaces: corral runs as uid \d+, not root: a rootless container needs a user namespace/,
    );
    expect(refused(user, (config) => (config.process.user.additionalGids = [1]))).toMatch(
      /^corral: invalid config: process\.user\.additionalGids: /,
    );
    expect(
      refused(
        user,
        (config) => (config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 4_000_000_000 }]),
      ),
    ).toMatch(
      /^corral: invalid config: process\.rlimits\[0\]: RLIMIT_NOFILE hard 4000000000 is above this user's own hard limit/,
    );
  });

  it('refuses --systemd-cgroup where the user has no systemd instance of its own, naming the flag', () => {
    // This host runs no systemd; the guest's tests show the user's instance where there is one.
    expect(refused(user, () => {}, ['--systemd-cgroup'])).toMatch(
      /^corral: --systemd-cgroup: systemd is not running on this host/,
    );
  });

  it('refuses limits without a cgroup delegated to the user, and skips device rules as runc does', () => {
    expect(refused(user, (config) => (config.linux.resources = { pids: { limit: 10 } }))).toMatch(
      /^corral: invalid config: linux\.resources\.pids\.limit: cannot be set: corral runs rootless and uid \d+ may not make \/sys\/fs\/cgroup\/.*: no cgroup there is delegated to it$/,
    );
    expect(refused(user, (config) => (config.linux.cgroupsPath = '/mine'))).toMatch(
      /^corral: invalid config: linux\.cgroupsPath: uid \d+ may not make \/sys\/fs\/cgroup\/.*\/mine: /,
    );
    const bundle = user.bundle(['true'], (config) => {
      config.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
    });
    expect(user.corralRun(['run', '--bundle', bundle.dir, bundle.id]).status).toBe(0);
  });

  it('says why ps, pause and events cannot work on a container without a cgroup', () => {
    const bundle = user.bundle(['sleep', '1000']);
    expect(
      user.corralRun(['run', '--detach', '--bundle', bundle.dir, bundle.id], { detached: true }).status,
    ).toBe(0);
    try {
      for (const command of [['ps'], ['pause'], ['events', '--stats']]) {
        const result = user.corralRun([...command, bundle.id]);
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(
          new RegExp(
            `^corral: container ${bundle.id} has no cgroup to [a-z ]+ with: it was made rootless and uid ${user.uid} may not make \\S+: no cgroup there is delegated to it \\(on cgroup v2 a user's systemd session delegates one\\)\\n$`,
          ),
        );
      }
    } finally {
      expect(user.corralRun(['delete', '--force', bundle.id]).status).toBe(0);
    }
    expect(containersIn(stateRoot(user))).toEqual([]);
  });

  it('names a subordinate range the user does not have, and host ids that are not its own', () => {
    expect(
      refused(bare, (config) => {
        config.linux.uidMappings.push({ containerID: 1, hostID: 100000, size: 65536 });
      }),
    ).toBe(
      `corral: invalid config: linux.uidMappings[1]: host uids 100000-165535 are not ${bare.name}'s to map: /etc/subuid gives ${bare.name} none (and uid ${bare.uid} alone is ${bare.name}'s own)`,
    );
    expect(
      refused(user, (config) => (config.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }])),
    ).toBe(
      `corral: invalid config: linux.gidMappings[0]: host gids 0-0 are not ${user.name}'s to map: /etc/subgid gives ${user.name} ${SUBORDINATE.start}-${SUBORDINATE.start + SUBORDINATE.count - 1}`,
    );
  });
});

describe("a user's state root", () => {
  it('refuses one it cannot make, naming it', () => {
    const bundle = user.bundle(['true']);
    const result = user.corralRun([
      '--root',
      '/run/corral-nobody-may/x',
      'run',
      '--bundle',
      bundle.dir,
      bundle.id,
    ]);
    expect(result.stderr).toBe(
      `corral: state root /run/corral-nobody-may/x: EACCES: uid ${user.uid} cannot make it; give --root a directory of this user's (or set XDG_RUNTIME_DIR)\n`,
    );
    expect(existsSync('/run/corral-nobody-may')).toBe(false);
  });

  it("never acts on another user's, nor through a link", () => {
    const theirs = join(user.work, 'state');
    user.run('mkdir', [theirs]);
    const result = bare.corralRun(['--root', theirs, 'list']);
    expect(result.stderr).toBe(
      `corral: state root ${theirs}: permission denied: it belongs to uid ${user.uid}, not to uid ${bare.uid} who runs corral; corral never acts on another user's containers\n`,
    );
    // Nor root on a user's: a state.json there could name any pid or cgroup.
    const asRoot = spawnSync(corralBin, ['--root', theirs, 'list'], { encoding: 'utf8', timeout: 60_000 });
    expect(asRoot.stderr).toBe(
      `corral: state root ${theirs}: permission denied: it belongs to uid ${user.uid}, not to uid 0 who runs corral; corral never acts on another user's containers\n`,
    );
    const link = join(bare.runtimeDir, 'corral');
    bare.run('ln', ['-s', bare.work, link]);
    expect(bare.corralRun(['list']).stderr).toBe(
      `corral: state root ${link}: is a symbolic link; corral follows none in its state\n`,
    );
    bare.run('rm', [link]);
  });

  it('lists no container whose directory is a link', () => {
    const bundle = user.bundle(['sleep', '1000']);
    expect(user.corralRun(['create', '--bundle', bundle.dir, bundle.id], { detached: true }).status).toBe(0);
    symlinkSync(join(stateRoot(user), bundle.id), join(stateRoot(user), 'alias'));
    try {
      const list = user.corralRun(['list', '--quiet']);
      expect(list.stdout).toBe(`${bundle.id}\n`);
      expect(user.corralRun(['state', 'alias']).stderr).toBe('corral: container "alias" does not exist\n');
    } finally {
      user.run('rm', [join(stateRoot(user), 'alias')]);
      expect(user.corralRun(['delete', '--force', bundle.id]).status).toBe(0);
    }
  });
});
