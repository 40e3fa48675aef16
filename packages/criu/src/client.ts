import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { CriuError, CriuOptionError, type CriuRequestName } from './errors.js';
import type { criu } from './generated/rpc.js';
import { lazyDumpObstacle } from './host-limits.js';
import { CriuLazyPages } from './lazy-pages.js';
import { lastErrorLine, readLogTail } from './log.js';
import { type CriuNotifyHandlers, callbacksFor } from './notify.js';
import {
  type CriuBaseOptions,
  type CriuDumpOptions,
  type CriuLazyPagesOptions,
  type CriuLogLevel,
  type CriuPageServerOptions,
  type CriuRestoreOptions,
  checkLogLevel,
  descriptorsForCriu,
  dumpOpts,
  lazyPagesArgs,
  pageServerOpts,
  type RequestDescriptors,
  restoreOpts,
} from './options.js';
import { loadRpc, type RpcModule } from './rpc.js';
import { type CriuBinary, SwrkSession } from './swrk.js';
import {
  type CriuVersion,
  compareVersions,
  formatVersion,
  parseVersion,
  type VersionNumber,
} from './version.js';
import { rememberedVersion, rememberVersion } from './version-file.js';

/** The oldest CRIU whose RPC has everything this client sends (single pre-dump, status-ready). */
export const MINIMUM_CRIU_VERSION: VersionNumber = { major: 3, minor: 16, sublevel: 0 };

export interface CriuClientOptions {
  /** The criu binary; else the CORRAL_CRIU environment variable; else `criu` on PATH. */
  criuPath?: string;
  /** Default log level of every request (CRIU's default is 2, warnings). */
  logLevel?: CriuLogLevel;
  /** Default directory for logs; requests with images default to their images directory. */
  workDir?: string;
  /** Refuse a CRIU older than this (`3.19`, `4.1.1`); never lower than the client's own minimum. */
  minimumVersion?: string;
  /**
   * A file in which the client keeps the binary's version between processes (a command line's
   * cache directory, say), so that only the first process asks criu for it; the version is
   * used only while the binary found is the very file it was asked of.
   */
  versionFile?: string;
}

/** What every call takes besides its own options. */
export interface CriuCallOptions {
  /** Stops the call: at once for queries, at CRIU's next notification for dump and restore. */
  signal?: AbortSignal;
}

/** Calls that change processes also take notification callbacks. */
export interface CriuOperationOptions extends CriuCallOptions {
  notify?: CriuNotifyHandlers;
}

export interface CriuFeatureSet {
  /** Dirty-page tracking, needed by trackMem and incremental dumps. */
  memTrack: boolean;
  /** userfaultfd-based lazy restore. */
  lazyPages: boolean;
  /** Storing pidfds of dumped tasks across pre-dumps. */
  pidfdStore: boolean;
}

export interface CriuRestoreResult {
  /** The restored tree's root pid, in this process's pid namespace. */
  pid: number;
}

export interface CriuPageServerResult {
  /** The page server daemon's pid. */
  pid: number;
  /** The port it listens on (the one CRIU picked when 0 was asked). */
  port: number;
}

interface Exchange {
  request: CriuRequestName;
  build: (rpc: RpcModule) => criu.ICriuReq;
  signal?: AbortSignal | undefined;
  notify?: CriuNotifyHandlers | undefined;
  /** Descriptors of this process that criu needs as its own (4, 5, ...). */
  passFds?: number[];
  /** Where CRIU's log of this request is, for error messages. */
  logPath?: string | undefined;
  /** Whether killing criu on abort is harmless (queries) or must wait for a safe point. */
  killOnAbort: boolean;
}

/** Where the criu binary is: the option, else CORRAL_CRIU, else `criu` looked up on PATH. */
export function resolveCriuBinary(criuPath?: string, env: NodeJS.ProcessEnv = process.env): CriuBinary {
  if (criuPath !== undefined) {
    if (typeof criuPath !== 'string' || criuPath.length === 0) {
      throw new CriuOptionError('criuPath', `expected a path, got ${JSON.stringify(criuPath)}`);
    }
    return { path: criuPath, source: 'criuPath' };
  }
  const fromEnv = env.CORRAL_CRIU;
  if (fromEnv) return { path: fromEnv, source: 'CORRAL_CRIU' };
  return { path: 'criu', source: 'PATH' };
}

/**
 * A client of CRIU's RPC interface. Each call starts its own `criu swrk` process and talks
 * to it over a SOCK_SEQPACKET socketpair; nothing is kept running between calls.
 */
export class CriuClient {
  readonly binary: CriuBinary;
  readonly logLevel: CriuLogLevel;
  readonly workDir: string | undefined;
  readonly minimumVersion: VersionNumber;
  #usable: Promise<CriuVersion> | undefined;
  readonly #versionFile: string | undefined;
  #features: Promise<CriuFeatureSet> | undefined;

  constructor(options: CriuClientOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new CriuOptionError('options', 'expected an object');
    this.binary = resolveCriuBinary(options.criuPath);
    const logLevel = options.logLevel ?? 2;
    checkLogLevel('logLevel', logLevel);
    this.logLevel = logLevel;
    if (options.workDir !== undefined && (typeof options.workDir !== 'string' || options.workDir === '')) {
      throw new CriuOptionError(
        'workDir',
        `expected a directory path, got ${JSON.stringify(options.workDir)}`,
      );
    }
    this.workDir = options.workDir === undefined ? undefined : resolve(options.workDir);
    const asked =
      options.minimumVersion === undefined
        ? undefined
        : parseVersion('minimumVersion', options.minimumVersion);
    this.minimumVersion =
      asked && compareVersions(asked, MINIMUM_CRIU_VERSION) > 0 ? asked : MINIMUM_CRIU_VERSION;
    if (
      options.versionFile !== undefined &&
      (typeof options.versionFile !== 'string' || !options.versionFile)
    ) {
      throw new CriuOptionError(
        'versionFile',
        `expected a file path, got ${JSON.stringify(options.versionFile)}`,
      );
    }
    this.#versionFile = options.versionFile;
  }

  /** CRIU's version, as its RPC reports it. */
  async version(options: CriuCallOptions = {}): Promise<CriuVersion> {
    const resp = await this.#exchange({
      request: 'version',
      build: (rpc) => ({ type: rpc.CriuReqType.VERSION }),
      signal: options.signal,
      killOnAbort: true,
    });
    const v = resp.version;
    if (!v) throw new CriuError('CRIU_EXITED', 'the answer has no version', { request: 'version' });
    return {
      major: v.majorNumber,
      minor: v.minorNumber,
      sublevel: v.sublevel ?? 0,
      ...(v.extra ? { extra: v.extra } : {}),
      ...(v.gitid ? { gitid: v.gitid } : {}),
      ...(v.name ? { name: v.name } : {}),
      text: formatVersion({ major: v.majorNumber, minor: v.minorNumber, sublevel: v.sublevel ?? 0 }),
    };
  }

  /**
   * Runs CRIU's own `check` of the kernel and its privileges; rejects with code
   * CRIU_CHECK_FAILED and the end of CRIU's log when CRIU says it cannot work here.
   */
  async check(options: CriuCallOptions = {}): Promise<void> {
    throwIfAborted('check', options.signal);
    await this.#ensureUsable(options.signal);
    await this.#withScratchDir('check', async (dir) => {
      const logFile = 'check.log';
      await this.#withDirs(dir, dir, async (fds) => {
        try {
          await this.#exchange({
            request: 'check',
            build: (rpc) => ({
              type: rpc.CriuReqType.CHECK,
              opts: {
                imagesDirFd: fds.imagesDirFd,
                workDirFd: fds.workDirFd,
                logFile,
                logLevel: this.logLevel,
              },
            }),
            signal: options.signal,
            logPath: join(dir, logFile),
            killOnAbort: true,
          });
        } catch (error) {
          if (error instanceof CriuError && error.code === 'CRIU_FAILED') {
            throw new CriuError(
              'CRIU_CHECK_FAILED',
              `${this.binary.path} fails its own check on this system`,
              {
                request: 'check',
                cause: error,
                ...pick(error),
              },
            );
          }
          throw error;
        }
      });
    });
  }

  /** Which optional features this kernel and CRIU support. */
  async featureCheck(options: CriuCallOptions = {}): Promise<CriuFeatureSet> {
    throwIfAborted('feature-check', options.signal);
    await this.#ensureUsable(options.signal);
    const resp = await this.#exchange({
      request: 'feature-check',
      build: (rpc) => ({
        type: rpc.CriuReqType.FEATURE_CHECK,
        features: { memTrack: true, lazyPages: true, pidfdStore: true },
      }),
      signal: options.signal,
      killOnAbort: true,
    });
    const features = resp.features ?? {};
    return {
      memTrack: features.memTrack === true,
      lazyPages: features.lazyPages === true,
      pidfdStore: features.pidfdStore === true,
    };
  }

  /** Dumps the process tree rooted at `options.pid` into `options.imagesDir`. */
  async dump(options: CriuDumpOptions & CriuOperationOptions): Promise<void> {
    await this.#dumpLike('dump', options);
  }

  /**
   * Writes the tree's memory and leaves it running; a later dump with `parentImage` pointing
   * here writes only the pages that changed since.
   */
  async preDump(options: CriuDumpOptions & CriuOperationOptions): Promise<void> {
    await this.#dumpLike('pre-dump', options);
  }

  /** Restores the tree in `options.imagesDir`; it runs detached from this process unless restoreSibling. */
  async restore(options: CriuRestoreOptions & CriuOperationOptions): Promise<CriuRestoreResult> {
    const logFile = `restore.log`;
    const workDir = this.#workDirFor(options);
    restoreOpts(options, placeholderFds, { logLevel: this.logLevel, logFile }); // validate before acting
    throwIfAborted('restore', options.signal);
    await this.#ensureUsable(options.signal);
    if (options.lazyPages) await this.#require('restore', 'lazyPages', options.signal);
    const passFds = descriptorsForCriu(options);
    const resp = await this.#withDirs(resolve(options.imagesDir), workDir, (fds) =>
      this.#exchange({
        request: 'restore',
        build: (rpc) => ({
          type: rpc.CriuReqType.RESTORE,
          opts: {
            ...restoreOpts(options, withPassed(fds, passFds), { logLevel: this.logLevel, logFile }),
            notifyScripts: true,
          },
        }),
        signal: options.signal,
        notify: options.notify,
        passFds,
        logPath: join(workDir, options.logFile ?? logFile),
        killOnAbort: false,
      }),
    );
    const pid = resp.restore?.pid;
    if (!pid || pid <= 0) {
      throw new CriuError('CRIU_EXITED', 'the restore answer has no pid', { request: 'restore' });
    }
    return { pid };
  }

  /**
   * Starts a page server that receives the pages of a dump sent with `pageServer` and writes
   * them into `options.imagesDir`. It runs on after this call, detached from criu, and exits
   * when that dump is done; stop it yourself (`process.kill(pid)`) if no dump comes.
   */
  async startPageServer(options: CriuPageServerOptions & CriuCallOptions): Promise<CriuPageServerResult> {
    const logFile = 'page-server.log';
    const workDir = this.#workDirFor(options);
    pageServerOpts(options, placeholderFds, { logLevel: this.logLevel, logFile });
    throwIfAborted('page-server', options.signal);
    await this.#ensureUsable(options.signal);
    mkdirSync(options.imagesDir, { recursive: true });
    const resp = await this.#withDirs(resolve(options.imagesDir), workDir, (fds) =>
      this.#exchange({
        request: 'page-server',
        build: (rpc) => ({
          // PAGE_SERVER_CHLD, not PAGE_SERVER: CRIU's daemonising variant answers pid 0
          // (its parent only learns that the daemon started), so the server could not be
          // stopped. The child variant reports the server's real pid.
          type: rpc.CriuReqType.PAGE_SERVER_CHLD,
          opts: pageServerOpts(options, fds, { logLevel: this.logLevel, logFile }),
        }),
        signal: options.signal,
        logPath: join(workDir, options.logFile ?? logFile),
        killOnAbort: true,
      }),
    );
    const pid = resp.ps?.pid;
    const port = resp.ps?.port;
    if (!pid || port === undefined || port === null) {
      throw new CriuError('CRIU_EXITED', 'the page server answer has no pid or port', {
        request: 'page-server',
      });
    }
    return { pid, port };
  }

  /**
   * Starts `criu lazy-pages` for a restore with `lazyPages: true` and resolves once it accepts
   * that restore. CRIU's RPC has no request for this daemon, so it runs as a command of the
   * same binary. Give the restore the same workDir: the two meet on `lazy-pages.socket` there.
   */
  async startLazyPages(options: CriuLazyPagesOptions & CriuCallOptions): Promise<CriuLazyPages> {
    const workDir = this.#workDirFor(options);
    const logFile = options.logFile ?? 'lazy-pages.log';
    const args = lazyPagesArgs(options, {
      imagesDir: resolve(options.imagesDir),
      workDir,
      logLevel: this.logLevel,
      logFile,
    });
    throwIfAborted('lazy-pages', options.signal);
    await this.#ensureUsable(options.signal);
    await this.#require('lazy-pages', 'lazyPages', options.signal);
    mkdirSync(workDir, { recursive: true });
    return CriuLazyPages.start({
      binary: this.binary,
      args,
      logPath: join(workDir, logFile),
      socketPath: join(workDir, 'lazy-pages.socket'),
      signal: options.signal,
    });
  }

  async #dumpLike(
    request: 'dump' | 'pre-dump',
    options: CriuDumpOptions & CriuOperationOptions,
  ): Promise<void> {
    const logFile = `${request}.log`;
    const workDir = this.#workDirFor(options);
    dumpOpts(options, placeholderFds, { logLevel: this.logLevel, logFile });
    throwIfAborted(request, options.signal);
    await this.#ensureUsable(options.signal);
    if (request === 'pre-dump' || options.trackMem) {
      await this.#require(request, 'memTrack', options.signal);
    }
    if (options.lazyPages) {
      await this.#require(request, 'lazyPages', options.signal);
      const obstacle = lazyDumpObstacle();
      if (obstacle) throw new CriuError('CRIU_UNSUPPORTED', obstacle, { request });
    }
    mkdirSync(options.imagesDir, { recursive: true });
    const passFds = descriptorsForCriu(options);
    await this.#withDirs(resolve(options.imagesDir), workDir, (fds) =>
      this.#exchange({
        request,
        build: (rpc) => {
          const opts: criu.ICriuOpts = {
            ...dumpOpts(options, withPassed(fds, passFds), { logLevel: this.logLevel, logFile }),
            notifyScripts: true,
          };
          return { type: request === 'dump' ? rpc.CriuReqType.DUMP : rpc.CriuReqType.SINGLE_PRE_DUMP, opts };
        },
        signal: options.signal,
        notify: options.notify,
        passFds,
        logPath: join(workDir, options.logFile ?? logFile),
        killOnAbort: false,
      }),
    );
  }

  #workDirFor(options: CriuBaseOptions): string {
    if (typeof options !== 'object' || options === null)
      throw new CriuOptionError('options', 'expected an object');
    const dir = options.workDir ?? this.workDir ?? options.imagesDir;
    if (typeof dir !== 'string' || dir === '') {
      throw new CriuOptionError('options.imagesDir', `expected a directory path, got ${JSON.stringify(dir)}`);
    }
    return resolve(dir);
  }

  /** Asks criu for its version once per client (or versionFile) and refuses one that is too old. */
  #ensureUsable(signal: AbortSignal | undefined): Promise<CriuVersion> {
    this.#usable ??= this.#knownVersion(signal).then((version) => {
      if (compareVersions(version, this.minimumVersion) < 0) {
        throw new CriuError(
          'CRIU_TOO_OLD',
          `${this.binary.path} is CRIU ${version.text}; this client needs ${formatVersion(this.minimumVersion)} or newer`,
          { request: 'version' },
        );
      }
      return version;
    });
    this.#usable.catch(() => {
      this.#usable = undefined; // a missing binary may be installed later; ask again next time
    });
    return this.#usable;
  }

  async #knownVersion(signal: AbortSignal | undefined): Promise<CriuVersion> {
    const file = this.#versionFile;
    const remembered = file ? rememberedVersion(file, this.binary.path) : undefined;
    if (remembered) return remembered;
    const version = await this.version({ signal });
    if (file) rememberVersion(file, this.binary.path, version);
    return version;
  }

  /**
   * Refuses a request that needs a feature this kernel lacks, before CRIU touches anything:
   * CRIU itself would fail half way (a pre-dump without dirty tracking hits an assertion).
   */
  async #require(request: CriuRequestName, feature: keyof CriuFeatureSet, signal: AbortSignal | undefined) {
    this.#features ??= this.featureCheck({ signal });
    this.#features.catch(() => {
      this.#features = undefined;
    });
    const features = await this.#features;
    if (features[feature]) return;
    const why = {
      memTrack: 'dirty memory tracking (soft-dirty page bits, kernel option CONFIG_MEM_SOFT_DIRTY)',
      lazyPages: 'lazy pages (userfaultfd with non-cooperative events)',
      pidfdStore: 'pidfd_open and pidfd_getfd',
    }[feature];
    throw new CriuError('CRIU_UNSUPPORTED', `this kernel does not offer ${why}, which ${request} needs`, {
      request,
    });
  }

  /** Opens the images and work directories for criu to reach through /proc/<our pid>/fd. */
  async #withDirs<T>(
    imagesDir: string,
    workDir: string,
    use: (fds: RequestDescriptors) => Promise<T>,
  ): Promise<T> {
    const opened: number[] = [];
    try {
      const imagesDirFd = openDirectory('options.imagesDir', imagesDir);
      opened.push(imagesDirFd);
      mkdirSync(workDir, { recursive: true });
      const workDirFd = openDirectory('options.workDir', workDir);
      opened.push(workDirFd);
      return await use({ imagesDirFd, workDirFd, inCriu: noPassedFds });
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }

  /** A directory for a request that has no images: the client's workDir, else a temporary one. */
  async #withScratchDir<T>(request: string, use: (dir: string) => Promise<T>): Promise<T> {
    if (this.workDir) {
      mkdirSync(this.workDir, { recursive: true });
      return use(this.workDir);
    }
    const dir = mkdtempSync(join(tmpdir(), `corral-criu-${request}-`));
    try {
      return await use(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** One request, its notifications, and its answer. */
  async #exchange(exchange: Exchange): Promise<criu.ICriuResp> {
    const { request, signal } = exchange;
    if (signal?.aborted) throw aborted(request, signal);
    const rpc = await loadRpc();
    const payload = rpc.CriuReq.encode(exchange.build(rpc)).finish();
    const session = await SwrkSession.start(this.binary, request, exchange.passFds);
    let stopReason: CriuError | undefined;
    const onAbort = () => {
      stopReason ??= aborted(request, signal!);
      if (exchange.killOnAbort) session.kill();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const exitedEarly = async (cause?: unknown) => {
      if (stopReason) return stopReason;
      const exit = await session.exited();
      return this.#failure('CRIU_EXITED', request, `criu exited (${describeExit(exit)}) before answering`, {
        logPath: exchange.logPath,
        session,
        cause,
      });
    };
    try {
      // A criu that dies at once closes the socket under us (EPIPE): report how it ended.
      await session.send(payload).catch(async (error: unknown) => {
        throw await exitedEarly(error);
      });
      for (;;) {
        // A criu killed before reading what we sent resets the socket (POLLERR): same as exiting.
        const message = await session.receive().catch(async (error: unknown) => {
          throw await exitedEarly(error);
        });
        if (message === null) throw await exitedEarly();
        let resp: criu.ICriuResp;
        try {
          resp = rpc.CriuResp.decode(message.data);
        } catch (error) {
          for (const fd of message.fds) closeSync(fd);
          throw new CriuError('CRIU_EXITED', `criu sent a message that is not a CriuResp: ${String(error)}`, {
            request,
            cause: error,
          });
        }
        if (resp.type !== rpc.CriuReqType.NOTIFY) {
          for (const fd of message.fds) closeSync(fd);
          if (stopReason) {
            // CRIU went past its last safe point before the stop arrived: its answer stands.
            if (resp.success && stopReason.code === 'CRIU_ABORTED') return resp;
            throw this.#stopped(stopReason, resp, exchange, session);
          }
          if (!resp.success) {
            throw this.#failure('CRIU_FAILED', request, 'CRIU reported a failure', {
              logPath: exchange.logPath,
              session,
              resp,
            });
          }
          return resp;
        }
        const ok = await this.#notified(
          resp,
          message.fds,
          exchange,
          () => stopReason,
          (error) => {
            stopReason ??= error;
          },
        );
        await session
          .send(rpc.CriuReq.encode({ type: rpc.CriuReqType.NOTIFY, notifySuccess: ok }).finish())
          .catch(async (error: unknown) => {
            throw await exitedEarly(error);
          });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (stopReason && exchange.killOnAbort) session.kill();
      await session.finish();
    }
  }

  /** Runs the callbacks of one notification; false when CRIU must stop. */
  async #notified(
    resp: criu.ICriuResp,
    fds: number[],
    exchange: Exchange,
    stopped: () => CriuError | undefined,
    stop: (error: CriuError) => void,
  ): Promise<boolean> {
    const name = resp.notify?.script ?? '';
    const notification = {
      name,
      ...(resp.notify?.pid ? { pid: resp.notify.pid } : {}),
      ...(fds[0] !== undefined ? { fd: fds[0] } : {}),
    };
    for (const extra of fds.slice(1)) closeSync(extra);
    const callbacks = callbacksFor(exchange.notify, name);
    if (callbacks.length === 0 && notification.fd !== undefined) closeSync(notification.fd);
    if (stopped()) return false;
    for (const callback of callbacks) {
      try {
        await callback(notification);
      } catch (error) {
        stop(
          new CriuError(
            'CRIU_NOTIFY_REJECTED',
            `the ${name} callback failed, so the ${exchange.request} was stopped`,
            {
              request: exchange.request,
              cause: error,
            },
          ),
        );
        return false;
      }
      if (stopped()) return false;
    }
    return true;
  }

  /** The error for an operation that we stopped, with what CRIU said while stopping. */
  #stopped(reason: CriuError, resp: criu.ICriuResp, exchange: Exchange, session: SwrkSession): CriuError {
    const tail = readLogTail(exchange.logPath) ?? session.stderrTail();
    return new CriuError(reason.code, reason.message.replace(/^criu [a-z-]+: /, ''), {
      request: exchange.request,
      cause: reason.cause,
      ...(resp.crErrno ? { errno: resp.crErrno } : {}),
      ...(resp.crErrmsg ? { criuMessage: resp.crErrmsg } : {}),
      ...(exchange.logPath ? { logFile: exchange.logPath } : {}),
      logTail: tail,
    });
  }

  #failure(
    code: 'CRIU_FAILED' | 'CRIU_EXITED',
    request: CriuRequestName,
    message: string,
    context: { logPath?: string | undefined; session: SwrkSession; resp?: criu.ICriuResp; cause?: unknown },
  ): CriuError {
    const logTail = readLogTail(context.logPath);
    const reason = logTail && lastErrorLine(logTail);
    return new CriuError(code, reason ? `${message}: ${reason}` : message, {
      request,
      ...(context.cause === undefined ? {} : { cause: context.cause }),
      ...(context.resp?.crErrno ? { errno: context.resp.crErrno } : {}),
      ...(context.resp?.crErrmsg ? { criuMessage: context.resp.crErrmsg } : {}),
      ...(logTail && context.logPath ? { logFile: context.logPath } : {}),
      logTail: logTail ?? context.session.stderrTail(),
    });
  }
}

/** Descriptor numbers for validating options before anything is opened. */
const placeholderFds: RequestDescriptors = { imagesDirFd: 0, workDirFd: 0, inCriu: (fd) => fd };

function noPassedFds(fd: number): number {
  return fd;
}

/** Maps each descriptor in `passFds` to the number it has inside criu. */
function withPassed(fds: RequestDescriptors, passFds: number[]): RequestDescriptors {
  return {
    ...fds,
    inCriu: (fd) => {
      const index = passFds.indexOf(fd);
      if (index < 0) throw new Error(`descriptor ${fd} was not passed to criu`);
      return SwrkSession.passedFdNumber(index);
    },
  };
}

function openDirectory(option: string, path: string): number {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CriuOptionError(option, `cannot open directory ${path}: ${code}`);
  }
}

export { lastErrorLine } from './log.js';

function describeExit(exit: { code: number | null; signal: string | null }): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function throwIfAborted(request: CriuRequestName, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw aborted(request, signal);
}

function aborted(request: CriuRequestName, signal: AbortSignal): CriuError {
  return new CriuError('CRIU_ABORTED', 'stopped by the caller', { request, cause: signal.reason });
}

function pick(error: CriuError) {
  return {
    ...(error.errno ? { errno: error.errno } : {}),
    ...(error.criuMessage ? { criuMessage: error.criuMessage } : {}),
    ...(error.logFile ? { logFile: error.logFile } : {}),
    logTail: error.logTail,
  };
}
