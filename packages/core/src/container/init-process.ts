import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';

import {
  type InitErrorReport,
  Pidfd,
  protocol,
  type SeqpacketMessage,
  SeqpacketSocket,
  sealedInitPath,
  sendDescriptor,
  seqpacketPair,
} from '@corral/native';

import { CorralError, InitError } from '../errors.js';
import type { InitPlan } from '../plan/compile.js';

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/** Turns corral-init's report into an error that says what failed in the config's terms. */
export function initFailure(plan: InitPlan, report: InitErrorReport): InitError {
  const what = plan.describe[report.opIndex] ?? (report.opIndex < 0 ? 'corral-init' : `op ${report.opIndex}`);
  const stage = report.opIndex >= 0 && report.opIndex <= plan.cloneIndex ? 'runtime' : 'container';
  let detail = report.message;
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

export type InitStdio = Array<'inherit' | 'ignore' | 'pipe' | number>;

/** Where corral-init's LOG lines go: its level (protocol.LogLevel) and text. */
export type InitLog = (level: number, message: string) => void;

/**
 * The runtime's side of the corral-init protocol, one method per step of protocol.HandshakeStep
 * (sync 1 start, 2 childStarted, 3 go, 4 console, 5 seccompListenerTo, 6 ready, 7 execDone).
 * Each step rejects an unexpected message or an error report from corral-init; LOG lines that
 * come meanwhile go to the log.
 */
export class InitProcess {
  readonly #plan: InitPlan;
  readonly #socket: SeqpacketSocket;
  readonly #helper: ChildProcess;
  readonly #log: InitLog;
  #helperExit: Promise<number | null>;

  private constructor(plan: InitPlan, socket: SeqpacketSocket, helper: ChildProcess, log: InitLog) {
    this.#plan = plan;
    this.#log = log;
    this.#socket = socket;
    this.#helper = helper;
    this.#helperExit = new Promise((resolve) => {
      helper.once('exit', (code) => resolve(code));
      helper.once('error', () => resolve(null));
    });
  }

  /**
   * Spawns corral-init from its sealed copy with the given stdio and sends it the plan.
   * `preserveFds` descriptors of ours from 3 up become the same numbers in the container;
   * corral-init's channel comes after them.
   */
  static async start(
    plan: InitPlan,
    stdio: InitStdio,
    preserveFds = 0,
    log: InitLog = (level, message) => {
      if (level >= protocol.LogLevel.warning) process.emitWarning(message);
    },
  ): Promise<InitProcess> {
    // Encoded first: a plan that cannot be encoded starts nothing.
    const datagrams = protocol.encodeMessage(protocol.MessageType.plan, protocol.encodePlan(plan.ops));
    const [ours, theirs] = seqpacketPair();
    let helper: ChildProcess;
    try {
      const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
      helper = spawn(sealedInitPath(), [String(3 + preserveFds)], {
        argv0: 'corral-init',
        stdio: [...stdio, ...preserved, theirs],
        env: {},
      });
    } catch (error) {
      closeSync(ours);
      throw error;
    } finally {
      closeSync(theirs);
    }
    const init = new InitProcess(plan, new SeqpacketSocket(ours), helper, log);
    const spawnError = new Promise<never>((_, reject) => helper.once('error', reject));
    try {
      await Promise.race([init.#send(datagrams), spawnError]);
    } catch (error) {
      // A helper that never got its plan would wait for it forever.
      init.close();
      helper.kill('SIGKILL');
      throw error;
    }
    return init;
  }

  /** Waits for the container process to exist; returns its pidfd. */
  async childStarted(): Promise<Pidfd> {
    const { payload, fds } = await this.#expect('childStarted');
    const { pid } = protocol.decodeChildStarted(payload);
    if (fds.length !== 1) {
      for (const fd of fds) closeSync(fd);
      throw new CorralError('SYSTEM', `corral-init sent ${fds.length} descriptors with the child's pid`);
    }
    return new Pidfd(pid, fds[0]!);
  }

  /**
   * Lets the container process go on with its plan (host-side setup is done), handing it the
   * state documents its in-container hooks read.
   */
  async go(hookState?: { before: string; after: string }): Promise<void> {
    await this.#send(protocol.encodeMessage(protocol.MessageType.go, protocol.encodeGo(hookState)));
  }

  async #send(datagrams: Buffer[]): Promise<void> {
    for (const datagram of datagrams) await this.#socket.send(datagram);
  }

  /** Receives the pty master of the container's console (process.terminal). */
  async console(): Promise<number> {
    const { fds } = await this.#expect('console');
    if (fds.length !== 1) {
      for (const fd of fds) closeSync(fd);
      throw new CorralError('SYSTEM', `corral-init sent ${fds.length} descriptors for the console`);
    }
    return fds[0]!;
  }

  /** Hands the console's pty master to the --console-socket, then lets go of it. */
  async consoleTo(socketPath: string): Promise<void> {
    const master = await this.console();
    try {
      sendDescriptor(socketPath, master, 'console');
    } catch (error) {
      throw new CorralError(
        'SYSTEM',
        `cannot send the console to ${socketPath}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    } finally {
      closeSync(master);
    }
  }

  /**
   * Receives the seccomp notification listener and hands it to the agent at `socketPath` with
   * `state` (the runtime spec's seccomp state document), then lets go of it.
   */
  async seccompListenerTo(socketPath: string, state: string): Promise<void> {
    const { fds } = await this.#expect('seccompListener');
    if (fds.length !== 1) {
      for (const fd of fds) closeSync(fd);
      throw new CorralError('SYSTEM', `corral-init sent ${fds.length} descriptors for the seccomp listener`);
    }
    try {
      sendDescriptor(socketPath, fds[0]!, state);
    } catch (error) {
      throw new CorralError(
        'SYSTEM',
        `cannot send the seccomp listener to ${socketPath} (linux.seccomp.listenerPath): ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      closeSync(fds[0]!);
    }
  }

  /** Resolves once the container process has run its plan up to the exec FIFO (`create`). */
  async ready(): Promise<void> {
    await this.#expect('ready');
  }

  /** Resolves once the container process has exec'd: its end of the socket closes on exec. */
  async execDone(): Promise<void> {
    const message = await this.#receive();
    if (message === null) return;
    throw this.#unexpected(message.data, message.fds);
  }

  /** The next message that is not a LOG line (those go to the log). */
  async #receive(): Promise<SeqpacketMessage | null> {
    for (;;) {
      const message = await this.#socket.receive();
      if (message === null) return null;
      const frame = protocol.decodeFrame(message.data);
      if (frame.type !== protocol.MessageType.log) return message;
      const { level, message: text } = protocol.decodeLog(frame.payload);
      this.#log(level, `corral-init: ${text}`);
    }
  }

  close(): void {
    this.#socket.close();
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

  /** The helper process itself (it exits once it has cloned the container process). */
  get helper(): ChildProcess {
    return this.#helper;
  }
}
