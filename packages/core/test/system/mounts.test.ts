import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { runtimeFeatures, type Spec } from '../../src/index.js';
import { bundleMaker, corralSync, disposeBundles, type TestBundle } from './bundle.js';
import { runcRun } from './runc.js';

// The config's mounts as runc makes them: the same bundle under Debian's runc (1.1.5) and under
// corral where 1.1.5 already behaves as current runc does, the kernel's mount table otherwise.
const made: TestBundle[] = [];
const cleanups: Array<() => void> = [];
afterEach(() => {
  // Host mounts first: a bundle holding one could not be removed.
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  disposeBundles(made);
});
const bundleFor = bundleMaker(made);

/** The same bundle twice (what one runtime makes in a rootfs must not meet the other), run by each. */
function runBoth(script: string, edit?: (spec: Spec, bundle: TestBundle) => void) {
  const [ofCorral, ofRunc] = [0, 1].map(() => {
    const bundle = bundleFor(['sh', '-c', script]);
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8')) as Spec;
    edit?.(spec, bundle);
    bundle.writeConfig(spec);
    return bundle;
  }) as [TestBundle, TestBundle];
  const corral = corralSync(ofCorral, 'run', '--bundle', ofCorral.path, ofCorral.id);
  return { bundle: ofCorral, corral, runc: runcRun(ofRunc) };
}

/** The mount options of mount point `at`, from the container's /proc/self/mountinfo. */
const optionsOf = (at: string) => `awk '$5 == "${at}" { print $6 }' /proc/self/mountinfo`;

/** A tmpfs mounted on the host with these options, unmounted when the test ends. */
function hostTmpfs(options: string): string {
  const dir = tempDir('mounts');
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir.path], { timeout: 10_000 });
  cleanups.push(() => {
    spawnSync('umount', ['-l', dir.path], { timeout: 10_000 });
    dir.remove();
  });
  writeFileSync(join(dir.path, 'file'), 'from the host\n');
  return dir.path;
}

describe('tmpfs', () => {
  it('tmpcopyup copies what the directory held into the new tmpfs', () => {
    const script = [
      'ls /etc; grep -c root /etc/passwd; touch /etc/new && echo writable',
      // Directories, symlinks and their owners and modes too.
      'readlink /usr/bin; stat -c "%a %u" /usr/secret /usr/secret/f',
    ].join('; ');
    const { corral, runc } = runBoth(script, (spec, bundle) => {
      mkdirSync(join(bundle.rootfs, 'usr/secret'), { mode: 0o700 });
      writeFileSync(join(bundle.rootfs, 'usr/secret/f'), 'x', { mode: 0o640 });
      chownSync(join(bundle.rootfs, 'usr/secret/f'), 1000, 1000);
      spec.mounts!.push(
        { destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] },
        { destination: '/usr', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] },
      );
    });
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('group\npasswd\n1\nwritable\n../bin\n700 0\n640 1000\n');
    expect(runc.stdout).toBe(corral.stdout);
  });

  it('over an existing directory takes its mode', () => {
    const { corral, runc } = runBoth('stat -c "%a %u:%g" /data /fresh', (spec, bundle) => {
      mkdirSync(join(bundle.rootfs, 'data'));
      chmodSync(join(bundle.rootfs, 'data'), 0o750);
      chownSync(join(bundle.rootfs, 'data'), 1000, 1000);
      spec.mounts!.push(
        { destination: '/data', type: 'tmpfs', source: 'tmpfs', options: [] },
        { destination: '/fresh', type: 'tmpfs', source: 'tmpfs', options: [] },
      );
    });
    expect(corral.stderr).toBe('');
    // The mode as runc keeps it; the owner is the mounting root's, under runc too.
    expect(corral.stdout).toBe('750 0:0\n1777 0:0\n');
    expect(runc.stdout).toBe(corral.stdout);
  });

  it('features lists tmpcopyup and the other options runc knows', () => {
    const options = runtimeFeatures().mountOptions;
    for (const name of ['tmpcopyup', 'sync', 'dirsync', 'lazytime', 'mand', 'iversion', 'norelatime']) {
      expect(options).toContain(name);
    }
    // Filesystem options to current runc, which no longer lists them (runc issue 3738).
    for (const name of ['acl', 'noacl']) expect(options).not.toContain(name);
    for (const name of ['rnostrictatime', 'rnorelatime', 'idmap', 'ridmap']) expect(options).toContain(name);
  });
});

describe('bind mounts', () => {
  it('take a source inside the rootfs that an earlier mount made', () => {
    const { corral, runc } = runBoth('ls /b', (spec, bundle) => {
      const host = join(bundle.path, 'host');
      mkdirSync(join(host, 'sub'), { recursive: true });
      writeFileSync(join(host, 'sub', 'f'), '');
      mkdirSync(join(bundle.rootfs, 'a'));
      spec.mounts!.push(
        { destination: '/a', type: 'bind', source: host, options: ['rbind'] },
        { destination: '/b', type: 'bind', source: join(bundle.rootfs, 'a/sub'), options: ['rbind'] },
      );
    });
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('f\n');
    expect(runc.stdout).toBe(corral.stdout);
  });

  it('land where a dangling symlink at the target points, inside the rootfs', () => {
    const { corral, runc } = runBoth('cat /etc/resolv.conf; ls /run', (spec, bundle) => {
      writeFileSync(join(bundle.path, 'resolv.conf'), 'nameserver 192.0.2.1\n');
      symlinkSync('../run/resolv.conf', join(bundle.rootfs, 'etc/resolv.conf'));
      spec.mounts!.push({
        destination: '/etc/resolv.conf',
        type: 'bind',
        source: join(bundle.path, 'resolv.conf'),
        options: ['bind'],
      });
    });
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('nameserver 192.0.2.1\nresolv.conf\n');
    expect(runc.stdout).toBe(corral.stdout);
  });

  it('clear the nosuid, nodev and noexec that their options do not name, or keep all with none', () => {
    const locked = hostTmpfs('nosuid,nodev,noexec');
    const { corral, runc } = runBoth(`${optionsOf('/ro')}; ${optionsOf('/plain')}`, (spec) => {
      spec.mounts!.push(
        { destination: '/ro', type: 'bind', source: locked, options: ['bind', 'ro'] },
        { destination: '/plain', type: 'bind', source: locked, options: ['bind'] },
      );
    });
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('ro,relatime\nrw,nosuid,nodev,noexec,relatime\n');
    expect(runc.stdout).toBe(corral.stdout);
  });

  it('keep what the kernel locks in a user namespace, as current runc does', () => {
    const locked = hostTmpfs('nosuid,nodev,noexec');
    const { corral, runc } = runBoth(optionsOf('/ro'), (spec, bundle) => {
      // The container's root may not write to a rootfs of the host's root: the target is there,
      // and the bundle is open for runc, which reaches it as the container's root.
      mkdirSync(join(bundle.rootfs, 'ro'));
      chmodSync(bundle.path, 0o755);
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 231072, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 331072, size: 65536 }];
      spec.mounts = spec.mounts!.filter((m) => m.destination !== '/sys');
      spec.mounts!.push({ destination: '/ro', type: 'bind', source: locked, options: ['bind', 'ro'] });
    });
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('ro,nosuid,nodev,noexec,relatime\n');
    // Debian's runc 1.1.5 predates the retry that keeps them and fails.
    expect(runc.stderr).toMatch(/operation not permitted/);
  });
});

describe('/dev', () => {
  it('a read-only /dev still gets /dev/pts and the devices, then is read-only', () => {
    const script = `${optionsOf('/dev')}; ${optionsOf('/dev/pts')}; ls /dev/null; touch /dev/x 2>/dev/null || echo refused`;
    const { corral, runc } = runBoth(script, (spec) => {
      spec.mounts!.find((m) => m.destination === '/dev')!.options!.push('ro');
    });
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('ro,nosuid\nrw,nosuid,noexec,relatime\n/dev/null\nrefused\n');
    expect(runc.stdout).toBe(corral.stdout);
  });

  it('a bundle without a /dev mount runs again, finding its own device nodes in place', () => {
    const bundle = bundleFor(['sh', '-c', 'ls -l /dev/null | cut -c1'], (spec) => {
      spec.mounts = spec.mounts!.filter(
        (m) => m.destination !== '/dev' && !m.destination.startsWith('/dev/'),
      );
    });
    for (const round of [1, 2]) {
      const result = corralSync(bundle, 'run', '--bundle', bundle.path, `${bundle.id}-${round}`);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('c\n');
    }
    expect(runcRun(bundle).stdout).toBe('c\n');
  });

  it('refuses something else than the device in its place, not following a symlink there', () => {
    const bundle = bundleFor(['true'], (spec) => {
      spec.mounts = spec.mounts!.filter(
        (m) => m.destination !== '/dev' && !m.destination.startsWith('/dev/'),
      );
    });
    symlinkSync('/etc/passwd', join(bundle.rootfs, 'dev/null'));
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stderr).toMatch(/create device \/dev\/null: mknodat: EEXIST: something else is there/);
    expect(result.status).toBe(1);
  });
});

describe('masked paths', () => {
  it('are masked once however often listed, and masked directories share one tmpfs', () => {
    const bundle = bundleFor(
      [
        'sh',
        '-c',
        'awk \'$5 ~ "^/(proc/acpi|sys/firmware|proc/scsi)$" { print $3, $5 }\' /proc/self/mountinfo',
      ],
      (spec) => {
        spec.linux!.maskedPaths!.push('/proc/acpi', '/proc/acpi/');
      },
    );
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stderr).toBe('');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    const points = lines.map(([, point]) => point);
    expect(points.filter((p) => p === '/proc/acpi')).toHaveLength(1);
    expect(points).toContain('/sys/firmware');
    // One superblock: the same device number on every masked directory.
    expect(new Set(lines.map(([device]) => device)).size).toBe(1);
  });
});

describe('the rootfs', () => {
  it('is refused when its /proc is a symlink', () => {
    const { corral, runc } = runBoth('true', (_spec, bundle) => {
      rmSync(join(bundle.rootfs, 'proc'), { recursive: true });
      symlinkSync('/tmp', join(bundle.rootfs, 'proc'));
    });
    expect(corral.status).toBe(1);
    expect(corral.stderr).toMatch(
      /mount proc on \/proc \(mounts\[0\]\): mount: ENOTDIR: filesystem "proc" must be mounted on ordinary directory/,
    );
    expect(runc.stderr).toMatch(/filesystem \\?"proc\\?" must be mounted on ordinary directory/);
  });

  it.each([
    ['shared', /^shared:\d+$/],
    ['rshared', /^shared:\d+$/],
    ['unbindable', /^unbindable$/],
    ['private', /^-$/],
  ])('takes rootfsPropagation %s, set on the new root after pivot_root', (propagation, tag) => {
    const bundle = bundleFor(['sh', '-c', `awk '$5 == "/" { print $7 }' /proc/self/mountinfo`], (spec) => {
      spec.linux!.rootfsPropagation = propagation;
    });
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toMatch(tag);
  });
});

describe('id-mapped mounts in a container with a user namespace of its own', () => {
  // The container's root is host 231072; files the host's root owns are nobody's in it.
  function withUserNamespace(spec: Spec): void {
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 231072, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 331072, size: 65536 }];
    spec.mounts = spec.mounts!.filter((m) => m.destination !== '/sys');
  }

  /** A host directory of root's files, with a tmpfs of root's files mounted in it at sub. */
  function hostTree(bundle: TestBundle): string {
    const dir = join(bundle.path, 'tree');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'top'), '');
    chmodSync(bundle.path, 0o755);
    const sub = join(dir, 'sub');
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', sub], { timeout: 10_000 });
    cleanups.push(() => spawnSync('umount', ['-l', sub], { timeout: 10_000 }));
    writeFileSync(join(sub, 'inner'), '');
    return dir;
  }

  function run(options: string[], extra: Record<string, unknown> = {}) {
    const bundle = bundleFor(['sh', '-c', 'stat -c %u /mnt/top /mnt/sub/inner'], withUserNamespace);
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8')) as Spec;
    mkdirSync(join(bundle.rootfs, 'mnt'), { recursive: true });
    spec.mounts!.push({ destination: '/mnt', type: 'bind', source: hostTree(bundle), options, ...extra });
    bundle.writeConfig(spec);
    return corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
  }

  it('without an id map, shows the host root as nobody', () => {
    expect(run(['rbind']).stdout).toBe('65534\n65534\n');
  });

  it('idmap takes the user namespace maps: the host root is the container root, submounts left alone', () => {
    const result = run(['rbind', 'idmap']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('0\n65534\n');
  });

  it('ridmap maps every mount of the tree', () => {
    const result = run(['rbind', 'ridmap']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('0\n0\n');
  });

  it("takes the mount's own maps", () => {
    const maps = [{ containerID: 0, hostID: 231072 + 5, size: 1 }];
    const result = run(['rbind'], { uidMappings: maps, gidMappings: maps });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('5\n65534\n');
  });

  it('refuses idmap without maps of the mount or of a user namespace, leaving nothing', () => {
    const bundle = bundleFor(['true'], (spec) => {
      spec.mounts!.push({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] });
    });
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stderr).toMatch(/mounts\[\d+\]\.options: idmap needs uidMappings and gidMappings/);
    expect(result.status).toBe(1);
  });
});
