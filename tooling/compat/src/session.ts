import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { busyboxRootfs, repoRoot, uniqueName } from '@corral/tooling/test-env';

import { CGROUP_PARENT, readCgroupFile, removeCgroupTree } from './cgroups.js';
import { type CommandResult, runCommand, shellQuote } from './command.js';
import { baseConfig, type Config } from './config.js';
import * as probe from './probe.js';

export type RuntimeName = 'runc' | 'corral';

/** The runtimes compared: Debian's runc, the reference, and corral's command. */
export const RUNTIME_BINARIES: Record<RuntimeName, string> = {
  runc: 'runc',
  corral: join(repoRoot, 'bin/corral'),
};

export interface Observation {
  label: string;
  value: string;
}

export interface CliOptions {
  /** What of stdout to record: its text (default), its `key=value` probe lines, or nothing. */
  stdout?: 'text' | 'probe' | 'none';
  /** Fields of a JSON document on stdout to record (dotted paths). */
  json?: string[];
  /** Phrases of the error text that tools match on: each recorded as there or not. */
  errors?: string[];
  /** Record whether the error text is one line (no stack trace, no second message). */
  oneLine?: boolean;
  /** Runs the runtime on a terminal of its own (for `run` of a process with a terminal). */
  tty?: boolean;
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  /** Wraps the runtime's command line (taskset, setpriv, ...). */
  prefix?: string[];
  /** Do not put `--root` before the arguments (the case passes its own). */
  noRoot?: boolean;
  /** How long the command may take before it is killed and recorded as timed out. */
  timeoutMs?: number;
}

/**
 * One runtime's run of a case: a bundle, a state root and a cgroup of its own, and the list of
 * observations the case made, with this run's paths and ids replaced by placeholders so the
 * two runtimes' lists compare.
 */
export class Session {
  readonly runtime: RuntimeName;
  readonly binary: string;
  /** A scratch directory holding the bundle, the state root and anything the case writes. */
  readonly work: string;
  readonly bundle: string;
  readonly rootfs: string;
  readonly root: string;
  /** The container's id (other containers of the case take `newId`). */
  readonly id: string;
  /** The cgroupsPath every container of this run gets, from the hierarchy roots. */
  readonly cgroupsPath: string;
  readonly config: Config;
  readonly observations: Observation[] = [];
  readonly #ids: string[] = [];
  readonly #cleanups: Array<() => unknown> = [];

  constructor(runtime: RuntimeName) {
    this.runtime = runtime;
    this.binary = RUNTIME_BINARIES[runtime];
    this.work = mkdtempSync(join(tmpdir(), `corral-compat-${runtime}-`));
    this.bundle = join(this.work, 'bundle');
    this.rootfs = join(this.bundle, 'rootfs');
    this.root = join(this.work, 'state');
    mkdirSync(this.root);
    cpSync(busyboxRootfs, this.rootfs, { recursive: true, verbatimSymlinks: true });
    this.id = this.newId();
    this.cgroupsPath = `/${CGROUP_PARENT}/${uniqueName(runtime)}`;
    this.config = baseConfig();
    this.config.linux.cgroupsPath = `${this.cgroupsPath}/${this.id}`;
  }

  /** Another container id of this run. */
  newId(): string {
    const id = uniqueName('ct');
    this.#ids.push(id);
    return id;
  }

  /** Writes the bundle's config.json (the session's config unless another is given). */
  writeConfig(config: unknown = this.config, bundle = this.bundle): void {
    writeFileSync(join(bundle, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  }

  /** This run's paths and ids as placeholders, so that both runtimes' text compares. */
  normalize(text: string): string {
    const replacements: Array<[string, string]> = [
      [this.rootfs, '$ROOTFS'],
      [this.bundle, '$BUNDLE'],
      [this.root, '$ROOT'],
      [this.work, '$WORK'],
      [this.cgroupsPath, '$CGROUP'],
      ...this.#ids.map((id): [string, string] => [id, '$ID']),
    ];
    for (const [from, to] of replacements) text = text.split(from).join(to);
    return text;
  }

  /** Records a value; a label seen before gets " #2", " #3", ... so each compares on its own. */
  observe(label: string, value: string | number | boolean): void {
    let unique = label;
    for (let n = 2; this.observations.some((o) => o.label === unique); n++) unique = `${label} #${n}`;
    this.observations.push({ label: unique, value: this.normalize(String(value)) });
  }

  /** Runs the runtime with `args` (after `--root`), and records what `options` asks. */
  async cli(label: string, args: readonly string[], options: CliOptions = {}): Promise<CommandResult> {
    const command = [
      ...(options.prefix ?? []),
      this.binary,
      ...(options.noRoot ? [] : ['--root', this.root]),
      ...args,
    ];
    const argv = options.tty ? ['script', '-qec', shellQuote(command), '/dev/null'] : command;
    const result = await runCommand(argv, {
      stdin: options.stdin,
      env: options.env,
      cwd: this.bundle,
      timeoutMs: options.timeoutMs,
    });
    if (options.tty) {
      // The terminal script gives the runtime turns every newline into CRLF on its own.
      // When its stdin (here none) ends, script writes an end-of-file character into the
      // terminal, which the container's pty may echo as ^@ under either runtime: not theirs.
      result.stdout = result.stdout.replace(/\r\n/g, '\n').replace(/\^@/g, '');
    }
    this.observe(
      `${label}: exit`,
      result.timedOut ? 'timed out' : (result.status ?? `signal ${result.signal}`),
    );
    const stdout = options.stdout ?? (options.json ? 'none' : 'text');
    if (stdout === 'text') this.observe(`${label}: stdout`, result.stdout);
    if (stdout === 'probe') {
      for (const [key, value] of probe.parseProbeOutput(result.stdout))
        this.observe(`${label}: ${key}`, value);
    }
    if (options.json) {
      let document: unknown;
      try {
        document = JSON.parse(result.stdout);
      } catch {
        document = undefined;
      }
      for (const path of options.json) this.observe(`${label}: json ${path}`, jsonField(document, path));
    }
    for (const phrase of options.errors ?? []) {
      // Tools match these phrases whatever their case ("Kernel memory" and "kernel memory").
      // runc's logrus lines quote the message and escape the quotes in it (msg="exec: \"/x\": ...").
      const stderr = this.normalize(result.stderr).replace(/\\"/g, '"');
      const said = stderr.toLowerCase().includes(phrase.toLowerCase());
      this.observe(`${label}: error says "${phrase}"`, said);
    }
    if (options.oneLine) {
      this.observe(`${label}: error is one line`, result.stderr.trim().split('\n').length === 1);
    }
    return result;
  }

  /** `run` of a probe script (the session's config, these lines as its process): records its exit and every probe line. */
  async runProbe(...lines: string[]): Promise<CommandResult> {
    this.config.process.args = probe.script(...lines);
    this.writeConfig();
    return this.cli('run', ['run', this.id], { stdout: 'probe' });
  }

  /** `run -d` of `args` in the session's config, not recorded: a container for later commands to act on. */
  async startDetached(args: string[] = ['sleep', '600']): Promise<void> {
    this.config.process.args = args;
    this.writeConfig();
    const started = await this.quiet(['run', '-d', this.id]);
    if (started.status !== 0) throw new Error(`${this.runtime} run -d: ${started.stderr.trim()}`);
  }

  /** Runs the runtime without recording anything (setup steps the case does not compare). */
  quiet(args: readonly string[], options: Pick<CliOptions, 'stdin' | 'env'> = {}): Promise<CommandResult> {
    return runCommand([this.binary, '--root', this.root, ...args], { ...options, cwd: this.bundle });
  }

  /** The pid of a container's init, from the runtime's `state`. */
  async pid(id = this.id): Promise<number> {
    const state = await this.quiet(['state', id]);
    const pid = (JSON.parse(state.stdout || '{}') as { pid?: number }).pid;
    if (!pid) throw new Error(`${this.runtime} state ${id}: no pid (${state.stderr.trim()})`);
    return pid;
  }

  /** The container's status from `state` ("<gone>" once the runtime no longer knows it). */
  async status(id = this.id): Promise<string> {
    const state = await this.quiet(['state', id]);
    if (state.status !== 0) return '<gone>';
    return (JSON.parse(state.stdout) as { status: string }).status;
  }

  /** Waits (up to a minute) until the container has the status; false if it never does. */
  async waitStatus(status: string, id = this.id): Promise<boolean> {
    const deadline = Date.now() + 60_000;
    for (let delay = 5; Date.now() < deadline; delay = Math.min(delay * 2, 200)) {
      if ((await this.status(id)) === status) return true;
      await sleep(delay);
    }
    return false;
  }

  /** A file of the container's cgroup (`controller` '' for the unified hierarchy), recorded. */
  observeCgroupFile(controller: string, file: string, id = this.id): void {
    this.observe(
      `cgroup ${controller || 'unified'} ${file}`,
      readCgroupFile(controller, `${this.cgroupsPath}/${id}`, file),
    );
  }

  /** A file the case wrote in its scratch directory (hooks write there), or <missing>. */
  readWork(name: string): string {
    try {
      return readFileSync(join(this.work, name), 'utf8');
    } catch {
      return '<missing>';
    }
  }

  /** Something to undo once the run's containers are gone (a mount the case made, say). */
  onDispose(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }

  /** Deletes every container this run made, its cgroups and its files. */
  async dispose(): Promise<void> {
    for (const id of this.#ids) await this.quiet(['delete', '--force', id]);
    for (const cleanup of this.#cleanups.reverse()) await cleanup();
    await removeCgroupTree(this.cgroupsPath);
    rmSync(this.work, { recursive: true, force: true });
  }
}

function jsonField(document: unknown, path: string): string {
  let value: unknown = document;
  for (const key of path.split('.')) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value === undefined ? '<absent>' : typeof value === 'string' ? value : JSON.stringify(value);
}
