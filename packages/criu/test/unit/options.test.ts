import { describe, expect, it } from 'vitest';

import { CriuOptionError, resolveCriuBinary } from '../../src/index.js';
import {
  descriptorsForCriu,
  dumpOpts,
  LAZY_PAGES_STATUS_FD,
  lazyPagesArgs,
  pageServerOpts,
  type RequestDescriptors,
  restoreOpts,
} from '../../src/options.js';
import { loadRpc } from '../../src/rpc.js';

const fds: RequestDescriptors = { imagesDirFd: 21, workDirFd: 22, inCriu: (fd) => fd + 100 };
const defaults = { logLevel: 2 as const, logFile: 'dump.log' };

describe('dump options -> CriuOpts', () => {
  it('maps the minimum to directories, log and pid', () => {
    expect(dumpOpts({ pid: 42, imagesDir: '/img' }, fds, defaults)).toEqual({
      imagesDirFd: 21,
      workDirFd: 22,
      logLevel: 2,
      logFile: 'dump.log',
      pid: 42,
    });
  });

  it('maps every dump option to its CRIU field', () => {
    const opts = dumpOpts(
      {
        pid: 7,
        imagesDir: '/img',
        logLevel: 4,
        logFile: 'mine.log',
        parentImage: '../pre',
        leaveRunning: true,
        shellJob: false,
        orphanPtsMaster: true,
        tcpEstablished: true,
        tcpSkipInFlight: true,
        extUnixSk: true,
        fileLocks: true,
        linkRemap: true,
        evasiveDevices: true,
        manageCgroups: 'full',
        freezeCgroup: '/sys/fs/cgroup/freezer/x',
        externalMounts: { '/data': 'data-volume' },
        root: '/rootfs',
        pageServer: { address: '127.0.0.1', port: 2000, fd: 9 },
        autoDedup: true,
        trackMem: true,
        lazyPages: true,
        ghostLimit: 4096,
        skipMounts: ['/proc/sys'],
        enableFs: ['hugetlbfs'],
        preDumpMode: 'read',
        statusFd: 5,
        timeout: 10,
        external: ['mnt[/x]:y'],
      },
      fds,
      defaults,
    );
    expect(opts).toEqual({
      imagesDirFd: 21,
      workDirFd: 22,
      logLevel: 4,
      logFile: 'mine.log',
      pid: 7,
      parentImg: '../pre',
      leaveRunning: true,
      shellJob: false,
      tcpEstablished: true,
      tcpSkipInFlight: true,
      orphanPtsMaster: true,
      extUnixSk: true,
      fileLocks: true,
      linkRemap: true,
      evasiveDevices: true,
      manageCgroups: true,
      manageCgroupsMode: 4,
      freezeCgroup: '/sys/fs/cgroup/freezer/x',
      extMnt: [{ key: '/data', val: 'data-volume' }],
      root: '/rootfs',
      ps: { address: '127.0.0.1', port: 2000, fd: 109 },
      autoDedup: true,
      trackMem: true,
      lazyPages: true,
      ghostLimit: 4096,
      skipMnt: ['/proc/sys'],
      enableFs: ['hugetlbfs'],
      preDumpMode: 2,
      statusFd: 5,
      timeout: 10,
      external: ['mnt[/x]:y'],
    });
  });

  it('maps manageCgroups true to the soft default and each mode to its number', () => {
    expect(dumpOpts({ pid: 1, imagesDir: '/i', manageCgroups: true }, fds, defaults).manageCgroups).toBe(
      true,
    );
    const modes = ['ignore', 'none', 'props', 'soft', 'full', 'strict', 'default'] as const;
    modes.forEach((mode, value) => {
      expect(
        dumpOpts({ pid: 1, imagesDir: '/i', manageCgroups: mode }, fds, defaults).manageCgroupsMode,
      ).toBe(value);
    });
  });

  it.each([
    [{ pid: 0, imagesDir: '/i' }, 'options.pid: expected a positive integer, got 0'],
    [{ pid: 1.5, imagesDir: '/i' }, 'options.pid'],
    [{ pid: 1, imagesDir: '' }, 'options.imagesDir: expected a non-empty string'],
    [{ pid: 1, imagesDir: '/i', logLevel: 9 }, 'options.logLevel: expected 0, 1, 2, 3 or 4, got 9'],
    [
      { pid: 1, imagesDir: '/i', logFile: 'a/b.log' },
      "options.logFile: must be a file name inside workDir, without '/'",
    ],
    [
      { pid: 1, imagesDir: '/i', leaveRunning: 'yes' },
      'options.leaveRunning: expected true or false, got "yes"',
    ],
    [
      { pid: 1, imagesDir: '/i', manageCgroups: 'hard' },
      'options.manageCgroups: expected true, false or one of',
    ],
    [
      { pid: 1, imagesDir: '/i', pageServer: { port: 70000 } },
      'options.pageServer.port: expected a port number',
    ],
    [
      { pid: 1, imagesDir: '/i', lazyPages: true },
      'options.lazyPages: a lazy dump serves pages on pageServer.port',
    ],
    [{ pid: 1, imagesDir: '/i', externalMounts: { '/m': '' } }, 'options.externalMounts["/m"]'],
    [{ pid: 1, imagesDir: '/i', preDumpMode: 'copy' }, "options.preDumpMode: expected 'splice' or 'read'"],
  ])('rejects %j naming the option', (options, message) => {
    expect(() => dumpOpts(options as never, fds, defaults)).toThrow(CriuOptionError);
    expect(() => dumpOpts(options as never, fds, defaults)).toThrow(message);
  });
});

describe('empty namespaces', () => {
  it('leaves the network namespace out of a dump as of a restore', () => {
    expect(dumpOpts({ pid: 1, imagesDir: '/i', emptyNamespaces: ['net'] }, fds, defaults).emptyNs).toBe(
      0x40000000,
    );
    expect(() =>
      dumpOpts({ pid: 1, imagesDir: '/i', emptyNamespaces: ['uts' as never] }, fds, defaults),
    ).toThrow("options.emptyNamespaces[0]: CRIU can only leave 'net' empty");
  });
});

describe('restore options -> CriuOpts', () => {
  it('maps every restore option to its CRIU field', () => {
    const opts = restoreOpts(
      {
        imagesDir: '/img',
        shellJob: true,
        tcpEstablished: true,
        tcpClose: false,
        extUnixSk: true,
        fileLocks: true,
        restoreSibling: true,
        manageCgroups: 'ignore',
        cgroupRoots: [{ path: '/corral/c1' }, { controller: 'memory', path: '/mem/c1' }],
        externalMounts: { 'data-volume': '/srv/data' },
        vethPairs: [{ inside: 'eth0', outside: 'veth123' }],
        inheritFds: [{ key: 'pipe:[123]', fd: 11 }],
        root: '/rootfs',
        lazyPages: true,
        orphanPtsMaster: true,
        emptyNamespaces: ['net'],
        lsmProfile: 'apparmor:unconfined',
        weakSysctls: true,
        autoDedup: true,
      },
      fds,
      { logLevel: 3, logFile: 'restore.log' },
    );
    expect(opts).toEqual({
      imagesDirFd: 21,
      workDirFd: 22,
      logLevel: 3,
      logFile: 'restore.log',
      shellJob: true,
      tcpEstablished: true,
      tcpClose: false,
      extUnixSk: true,
      fileLocks: true,
      rstSibling: true,
      manageCgroups: true,
      manageCgroupsMode: 0,
      cgRoot: [{ path: '/corral/c1' }, { ctrl: 'memory', path: '/mem/c1' }],
      extMnt: [{ key: 'data-volume', val: '/srv/data' }],
      veths: [{ ifIn: 'eth0', ifOut: 'veth123' }],
      inheritFd: [{ key: 'pipe:[123]', fd: 111 }],
      root: '/rootfs',
      lazyPages: true,
      orphanPtsMaster: true,
      emptyNs: 0x40000000,
      lsmProfile: 'apparmor:unconfined',
      weakSysctls: true,
      autoDedup: true,
    });
  });

  it('names the v2 hierarchy beside v1 ones by the empty controller, and keeps it on the wire', async () => {
    const opts = restoreOpts(
      { imagesDir: '/i', cgroupRoots: [{ controller: '', path: '/corral/c1' }] },
      fds,
      defaults,
    );
    expect(opts.cgRoot).toEqual([{ ctrl: '', path: '/corral/c1' }]);
    const criu = await loadRpc();
    const decoded = criu.CriuOpts.decode(criu.CriuOpts.encode(opts).finish());
    // Present but empty: CRIU's cgroup2 entry, not the root of every hierarchy.
    expect(Object.hasOwn(decoded.cgRoot[0]!, 'ctrl')).toBe(true);
    expect(decoded.cgRoot[0]!.ctrl).toBe('');
  });

  it('rejects what CRIU cannot do, naming the option', () => {
    expect(() => restoreOpts({ imagesDir: '/i', emptyNamespaces: ['pid' as never] }, fds, defaults)).toThrow(
      "options.emptyNamespaces[0]: CRIU can only leave 'net' empty",
    );
    expect(() => restoreOpts({ imagesDir: '/i', inheritFds: [{ key: 'k', fd: -1 }] }, fds, defaults)).toThrow(
      'options.inheritFds[0].fd: expected a file descriptor',
    );
    expect(() =>
      restoreOpts({ imagesDir: '/i', vethPairs: [{ inside: 'eth0' } as never] }, fds, defaults),
    ).toThrow('options.vethPairs[0].outside');
  });

  it('lists the descriptors criu must inherit, in order', () => {
    expect(
      descriptorsForCriu({
        imagesDir: '/i',
        inheritFds: [
          { key: 'a', fd: 8 },
          { key: 'b', fd: 5 },
        ],
      }),
    ).toEqual([8, 5]);
    expect(descriptorsForCriu({ pid: 1, imagesDir: '/i', pageServer: { port: 1, fd: 12 } })).toEqual([12]);
    expect(descriptorsForCriu({ pid: 1, imagesDir: '/i' })).toEqual([]);
  });
});

describe('page server options -> CriuOpts', () => {
  it('listens on port 0 (CRIU picks) unless told otherwise', () => {
    expect(pageServerOpts({ imagesDir: '/i' }, fds, defaults).ps).toEqual({ port: 0 });
    expect(pageServerOpts({ imagesDir: '/i', address: '127.0.0.1', port: 27 }, fds, defaults).ps).toEqual({
      address: '127.0.0.1',
      port: 27,
    });
  });
});

describe('lazy-pages options -> command line', () => {
  const resolved = { imagesDir: '/img', workDir: '/work', logLevel: 2 as const, logFile: 'lazy-pages.log' };

  it('runs on the images with a status descriptor, logging into workDir', () => {
    expect(lazyPagesArgs({ imagesDir: 'img' }, resolved)).toEqual([
      'lazy-pages',
      '--images-dir',
      '/img',
      '--work-dir',
      '/work',
      '--log-file',
      'lazy-pages.log',
      '-v2',
      '--status-fd',
      String(LAZY_PAGES_STATUS_FD),
    ]);
  });

  it('fetches from a page server, with its own log file and level', () => {
    const args = lazyPagesArgs(
      { imagesDir: '/img', logFile: 'lp.log', logLevel: 4, pageServer: { address: '127.0.0.1', port: 2701 } },
      resolved,
    );
    expect(args).toContain('-v4');
    expect(args[args.indexOf('--log-file') + 1]).toBe('lp.log');
    expect(args.slice(-5)).toEqual(['--page-server', '--address', '127.0.0.1', '--port', '2701']);
  });

  it('names the bad option', () => {
    expect(() => lazyPagesArgs({ imagesDir: '' }, resolved)).toThrow('options.imagesDir');
    expect(() => lazyPagesArgs({ imagesDir: '/img', logFile: 'a/b' }, resolved)).toThrow('options.logFile');
    expect(() => lazyPagesArgs({ imagesDir: '/img', logLevel: 9 as never }, resolved)).toThrow(
      'options.logLevel',
    );
    expect(() =>
      lazyPagesArgs({ imagesDir: '/img', pageServer: { address: '127.0.0.1', port: 0 } }, resolved),
    ).toThrow('options.pageServer.port: expected the port the lazy dump serves on, got 0');
    expect(() =>
      lazyPagesArgs({ imagesDir: '/img', pageServer: { address: '', port: 1 } }, resolved),
    ).toThrow(CriuOptionError);
  });
});

describe('finding criu', () => {
  it('prefers the option, then CORRAL_CRIU, then PATH', () => {
    expect(resolveCriuBinary('/opt/criu', { CORRAL_CRIU: '/env/criu' })).toEqual({
      path: '/opt/criu',
      source: 'criuPath',
    });
    expect(resolveCriuBinary(undefined, { CORRAL_CRIU: '/env/criu' })).toEqual({
      path: '/env/criu',
      source: 'CORRAL_CRIU',
    });
    expect(resolveCriuBinary(undefined, {})).toEqual({ path: 'criu', source: 'PATH' });
    expect(() => resolveCriuBinary('', {})).toThrow('criuPath: expected a path');
  });
});
