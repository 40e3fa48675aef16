import { closeSync, openSync } from 'node:fs';

import {
  errnoName,
  type InitErrorReport,
  Pidfd,
  protocol,
  SeqpacketSocket,
  sealedInitPath,
  sendDescriptor,
  seqpacketPair,
  spawnProcess,
} from '@corral/native';

import { CorralError, InitError, SystemError } from '../../errors.js';
import type { InitPlan } from '../../plan/compile.js';
import { missingKernelFeature } from '../../plan/kernel-features.js';

/** Turns corral-init's report into an error that says what failed in the config's terms. */
export function initFailure(plan: InitPlan, report: InitErrorReport): InitError {
  const what = plan.describe[report.opIndex] ?? (report.opIndex < 0 ? 'corral-init' : `op ${report.opIndex}`);
  const stage = report.opIndex >= 0 && report.opIndex <= plan.cloneIndex ? 'runtime' : 'container';
  let detail = missingKernelFeature(report.syscall, report.errno) ?? report.message;
  if (report.path && !what.includes(report.path)) detail = detail ? `${report.path}: ${detail}` : report.path;
  return new InitError(what, {
    stage,
    opIndex: report.opIndex,
    syscall: report.syscall || 'unknown',
    errno: report.errno,
    errnoCode: errnoName(report.errno),
    path: report.path || undefined,
    detail,
    message: plan.explain?.(report),
  });
}

/** The process's stdio: our own descriptor of that number, /dev/null, or a descriptor of ours. */
export type InitStdio = Array<'inherit' | 'ignore' | number>;

/** Where the master of the process's terminal goes: a console socket, or back to the caller, who relays it. */
export type ConsoleDestination = { socket: string } | 'caller';

/**
 * The steps of the handshake with corral-init, numbered as corral-init numbers them. Step 1,
 * the plan, is sent when the helper starts; the others are the callbacks and options below.
 */
export interface Handshake {
  /**
   * Step 2, child started: the process exists and waits. The runtime records it and does its
   * host-side setup (cgroup, id maps, devices). From here on the caller holds the process: if
   * the handshake fails later, killing it is the caller's.
   */
  childStarted(child: Pidfd): Promise<void>;
  /**
   * Step 3, before go: the hooks that run on the host. Returns the state document that GO
   * carries, once, for the hooks corral-init runs inside the container, cut around its status
   * (hookStateAround); none when no hook runs there.
   */
  beforeGo(child: Pidfd): Promise<{ before: string; after: string } | undefined>;
  /** Step 4: where the terminal's master goes, when the process has one. */
  console?: ConsoleDestination;
  /** Step 5: the seccomp notification listener goes to the agent at `path` with `state`. */
  seccompListener?: { path: string; state: (child: Pidfd) => string };
  /** Step 6: the process stands at its exec FIFO (`ready`, for create) or has exec'd (`exec`). */
  until: 'ready' | 'exec';
}

export interface InitProcessOptions {
  /** Descriptors of ours from 3 up that become the same numbers in the process. */
  preserveFds?: number;
  /**
   * Descriptors corral-init is given for its plan (an exec'd process's target pidfd): they come
   * after the preserved ones and before the channel, which corral-init keeps with everything
   * below it, and are close-on-exec by the time the process execs.
   */
  given?: readonly number[];
  /** Where corral-init's log lines go. */
  log?: (level: number, message: string) => void;
  /** Where the steps of the handshake and the plan's ops are told (the command's --debug). */
  debug?: (message: string) => void;
}

/** The number a descriptor given to corral-init has there: after stdio and the preserved ones. */
export function givenDescriptor(preserveFds: number, index: number): number {
  return 3 + preserveFds + index;
}

/**
 * The runtime's side of the corral-init protocol: `start` sends the plan, `handshake` takes
 * the process through the remaining steps. Each step rejects an unexpected message or an error
 * report from corral-init; log lines may come at any point and go to the logger.
 */
export class InitProcess {
  readonly #plan: InitPlan;
  readonly #socket: SeqpacketSocket;
  readonly #log: ((level: number, message: string) => void) | undefined;
  readonly #debug: (message: string) => void;
  /** corral-init's exit code, once it has exited and been reaped (null when a signal ended it). */
  #helperExit: Promise<number | null>;

  private constructor(plan: InitPlan, socket: SeqpacketSocket, helper: Pidfd, options: InitProcessOptions) {
    this.#plan = plan;
    this.#socket = socket;
    this.#log = options.log;
    this.#debug = options.debug ?? (() => {});
    this.#helperExit = helper
      .exited()
      .then((status) => status.code)
      .finally(() => helper.close());
  }

  /** Step 1: spawns corral-init from its sealed copy with the given stdio and sends it the plan. */
  static async start(
    plan: InitPlan,
    stdio: InitStdio,
    options: InitProcessOptions = {},
  ): Promise<InitProcess> {
    // Encoded first: a plan that cannot be encoded starts nothing.
    const datagrams = protocol.encodeMessage(protocol.MessageType.plan, protocol.encodePlan(plan.ops));
    const preserveFds = options.preserveFds ?? 0;
    const given = options.given ?? [];
    const [ours, theirs] = seqpacketPair();
    const devNull = stdio.includes('ignore') ? openSync('/dev/null', 'r+') : undefined;
    let helper: Pidfd;
    try {
      const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
      const channel = givenDescriptor(preserveFds, given.length);
      const stdioFds = stdio.map((io, i) => (io === 'inherit' ? i : io === 'ignore' ? devNull! : io));
      helper = spawnProcess(
        sealedInitPath(),
        ['corral-init', String(channel)],
        [...stdioFds, ...preserved, ...given, theirs],
      );
    } catch (error) {
      closeSync(ours);
      throw error;
    } finally {
      closeSync(theirs);
      if (devNull !== undefined) closeSync(devNull);
    }
    const init = new InitProcess(plan, new SeqpacketSocket(ours), helper, options);
    init.#debug(`corral-init started as pid ${helper.pid}; its plan:`);
    for (const [i, what] of plan.describe.entries()) init.#debug(`  op ${i}: ${what}`);
    try {
      await init.#send(datagrams);
    } catch (error) {
      // A helper that never got its plan would wait for it forever.
      init.close();
      try {
        helper.signal(9);
      } catch {
        // Already gone.
      }
      throw error;
    }
    return init;
  }

  /** Steps 2 to 6; returns the process and, when it goes to the caller, its terminal's master. */
  async handshake(steps: Handshake): Promise<{ child: Pidfd; console?: number }> {
    const debug = this.#debug;
    const child = await this.#childStarted();
    debug(`step 2: the process is pid ${child.pid}, waiting for go`);
    let console: number | undefined;
    try {
      await steps.childStarted(child);
      await this.#go(await steps.beforeGo(child));
      debug('step 3: go sent');
      if (steps.console === 'caller') console = await this.#receiveOne('console', 'the console');
      else if (steps.console) await this.#consoleTo(steps.console.socket);
      if (steps.console) debug(`step 4: the terminal's master went to ${JSON.stringify(steps.console)}`);
      if (steps.seccompListener) {
        await this.#seccompListenerTo(steps.seccompListener.path, steps.seccompListener.state(child));
        debug(`step 5: the seccomp listener went to ${steps.seccompListener.path}`);
      }
      if (steps.until === 'ready') await this.#expect('ready');
      else await this.#execDone();
      debug(
        steps.until === 'ready'
          ? 'step 6: the process waits at the exec FIFO'
          : "step 6: the process has exec'd",
      );
      return { child, console };
    } catch (error) {
      if (console !== undefined) closeSync(console);
      throw error;
    }
  }

  /** Lets go of the channel; corral-init, if still there, takes that as the end. */
  close(): void {
    this.#socket.close();
  }

  /** Step 2: the container process exists; its pidfd comes with its pid. */
  async #childStarted(): Promise<Pidfd> {
    const { payload, fds } = await this.#expect('childStarted');
    const { pid } = protocol.decodeChildStarted(payload);
    if (fds.length !== 1) {
      for (const fd of fds) closeSync(fd);
      throw new CorralError('SYSTEM', `corral-init sent ${fds.length} descriptors with the child's pid`);
    }
    return new Pidfd(pid, fds[0]!);
  }

  /** Step 3: the host side is set up; the process goes on with its plan. */
  async #go(hookState: { before: string; after: string } | undefined): Promise<void> {
    await this.#send(protocol.encodeMessage(protocol.MessageType.go, protocol.encodeGo(hookState)));
  }

  /** A message as the datagrams that carry it (protocol.encodeMessage). */
  async #send(datagrams: Buffer[]): Promise<void> {
    for (const datagram of datagrams) await this.#socket.send(datagram);
  }

  /** Step 4 to a console socket: hands the pty master on, then lets go of it. */
  async #consoleTo(socketPath: string): Promise<void> {
    await this.#handOn('console', 'the console', socketPath, 'console');
  }

  /** Step 5: hands the seccomp listener to the agent with the seccomp state document. */
  async #seccompListenerTo(socketPath: string, state: string): Promise<void> {
    await this.#handOn(
      'seccompListener',
      'the seccomp listener',
      socketPath,
      state,
      'linux.seccomp.listenerPath',
    );
  }

  /** Step 6 of `run` and `exec`: the process's end of the channel closes on exec. */
  async #execDone(): Promise<void> {
    const message = await this.#receive();
    if (message === null) return;
    throw this.#unexpected(message.data, message.fds);
  }

  async #handOn(
    type: 'console' | 'seccompListener',
    what: string,
    socketPath: string,
    name: string,
    field?: string,
  ): Promise<void> {
    const fd = await this.#receiveOne(type, what);
    try {
      sendDescriptor(socketPath, fd, name);
    } catch (error) {
      const where = field ? ` (${field})` : '';
      throw SystemError.from(`send ${what} to ${socketPath}${where}`, error, socketPath);
    } finally {
      closeSync(fd);
    }
  }

  /** A message that must carry exactly one descriptor. */
  async #receiveOne(type: protocol.MessageTypeName, what: string): Promise<number> {
    const { fds } = await this.#expect(type);
    if (fds.length !== 1) {
      for (const fd of fds) closeSync(fd);
      throw new CorralError('SYSTEM', `corral-init sent ${fds.length} descriptors for ${what}`);
    }
    return fds[0]!;
  }

  /** The next message that is not a log line (those go to the logger as they come). */
  async #receive(): Promise<{ data: Buffer; fds: number[] } | null> {
    for (;;) {
      const message = await this.#socket.receive();
      if (message === null) return null;
      const frame = protocol.decodeFrame(message.data);
      if (frame.type !== protocol.MessageType.log) return message;
      for (const fd of message.fds) closeSync(fd);
      const { level, message: line } = protocol.decodeLog(frame.payload);
      this.#log?.(level, line);
    }
  }

  async #expect(name: protocol.MessageTypeName): Promise<{ payload: Buffer; fds: number[] }> {
    const message = await this.#receive();
    if (message === null) {
      const code = await this.#helperExit;
      throw new CorralError('SYSTEM', `corral-init exited (status ${code}) before it reported ${name}`);
    }
    const frame = protocol.decodeFrame(message.data);
    if (frame.type !== protocol.MessageType[name]) throw this.#unexpected(message.data, message.fds);
    return { payload: frame.payload, fds: message.fds };
  }

  #unexpected(data: Buffer, fds: number[]): Error {
    for (const fd of fds) closeSync(fd);
    const frame = protocol.decodeFrame(data);
    if (frame.type === protocol.MessageType.error)
      return initFailure(this.#plan, protocol.decodeErrorReport(frame.payload));
    return new CorralError('SYSTEM', `corral-init sent unexpected message type ${frame.type}`);
  }
}
