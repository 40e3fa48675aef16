import { existsSync, statSync } from 'node:fs';

import { checkCgroupResources } from '../check.js';
import { CgroupError, notSupported } from '../errors.js';
import { OverFilesCgroupManager } from '../over-files.js';
import type { CgroupManager, LinuxResources } from '../types.js';
import { validateResources } from '../validate.js';
import { resourceProperties, startProperties, type UnitProperty } from './properties.js';
import type { Systemd1 } from './systemd1.js';
import type { SystemdUnit } from './unit.js';

/** sd_booted(3): the host runs systemd as its init when this directory exists. */
export function isRunningSystemd(): boolean {
  return statSync('/run/systemd/system', { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Where systemd keeps a transient unit's file while the unit is loaded. */
const TRANSIENT_DIR = '/run/systemd/transient';

/** The config field behind a refusal, when systemd's message names one of our properties. */
function refusal(error: unknown, properties: readonly UnitProperty[], unit: string): CgroupError {
  const message = (error as Error).message;
  const type = (error as { type?: string }).type ?? '';
  if (!type.startsWith('org.freedesktop.DBus.Error.') || /NoServer|Disconnected|Timeout/.test(type)) {
    // Not a refusal of what we asked: the bus is gone, or the job failed or took too long.
    return new CgroupError('SYSTEM', message, { cause: error });
  }
  const named = [...properties].reverse().find((p) => new RegExp(`\\b${p.name}\\b`).test(message));
  if (named) {
    return new CgroupError('INVALID_CONFIG', `${named.field}: systemd refused ${named.name}: ${message}`, {
      field: named.field,
      cause: error,
    });
  }
  return new CgroupError('SYSTEM', `systemd refused ${unit}: ${message}`, { cause: error });
}

export interface SystemdCgroupManagerOptions {
  unit: SystemdUnit;
  /** The cgroupfs driver on the unit's own directories: files for what systemd cannot say, and reads. */
  files: CgroupManager;
  /** The config's `org.systemd.property.` annotations, already parsed. */
  annotations?: readonly UnitProperty[];
  /** The config's resources, for what must be known when the unit starts (memory.oom.group). */
  resources?: LinuxResources;
  /** How to reach systemd (a test can point it at another bus). */
  connect?: () => Promise<Systemd1>;
  /** Where this systemd keeps its transient units' files (a user's instance: under XDG_RUNTIME_DIR). */
  transientDir?: string;
}

/**
 * The systemd driver (`--systemd-cgroup`): the container's processes live in a transient scope
 * that systemd makes and removes, with resources set as unit properties (runc's conversions) and
 * then written to the cgroup files as well, for what systemd cannot express. Statistics, the
 * freezer, pids and OOM events come from the files.
 */
export class SystemdCgroupManager extends OverFilesCgroupManager {
  readonly unit: SystemdUnit;
  readonly #annotations: readonly UnitProperty[];
  readonly #resources: LinuxResources | undefined;
  readonly #connect: () => Promise<Systemd1>;
  readonly #transientDir: string;
  #systemd: Promise<Systemd1> | undefined;
  /** A scope needs a process to start: resources given before there is one wait for it. */
  #waiting: { resources?: LinuxResources } | undefined;

  constructor(options: SystemdCgroupManagerOptions) {
    super(options.files);
    this.unit = options.unit;
    this.#annotations = options.annotations ?? [];
    this.#resources = options.resources;
    this.#connect = options.connect ?? (async () => (await import('./systemd1.js')).Systemd1.connect());
    this.#transientDir = options.transientDir ?? TRANSIENT_DIR;
  }

  override get systemdUnit(): string {
    return this.unit.name;
  }

  #unified(): boolean {
    return this.files.mode === 'unified';
  }

  #bus(): Promise<Systemd1> {
    this.#systemd ??= this.#connect().catch((error: unknown) => {
      this.#systemd = undefined;
      throw new CgroupError('SYSTEM', `--systemd-cgroup: ${(error as Error).message}`, { cause: error });
    });
    return this.#systemd;
  }

  /** Closes the connection to systemd, if one is open (a long-lived caller may want it back). */
  async close(): Promise<void> {
    const systemd = this.#systemd;
    this.#systemd = undefined;
    if (systemd) (await systemd.catch(() => undefined))?.close();
  }

  async apply(pid: number): Promise<void> {
    if (pid === -1 && this.unit.kind === 'scope') {
      // Started with the first process (a restore hands it over once CRIU has made it).
      this.#waiting ??= {};
      return;
    }
    const properties = startProperties(this.unit, pid, {
      unified: this.#unified(),
      annotations: this.#annotations,
      resources: this.#resources,
    });
    const systemd = await this.#bus();
    const start = () =>
      systemd.startTransientUnit(
        this.unit.name,
        properties.map((p) => [p.name, p.value]),
      );
    try {
      try {
        await start();
      } catch (error) {
        // A failed unit of the same name is left from an earlier run: forget it and try once more.
        if ((error as { type?: string }).type !== 'org.freedesktop.systemd1.UnitExists') throw error;
        await systemd.resetFailedUnit(this.unit.name);
        await start();
      }
    } catch (error) {
      await systemd.resetFailedUnit(this.unit.name).catch(() => {});
      throw refusal(error, properties, this.unit.name);
    }
    try {
      // The controllers systemd does not manage (cpuset, freezer, ... on v1) get the process too.
      if (pid !== -1) await this.files.apply(pid);
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting?.resources) await this.set(waiting.resources);
    } catch (error) {
      await this.destroy().catch(() => {});
      throw error;
    }
  }

  async set(resources: LinuxResources): Promise<void> {
    validateResources(resources);
    if (this.#waiting) {
      // Refuse now what can be refused before the unit exists; the rest waits for it.
      resourceProperties(resources, { unified: this.#unified(), version: Number.POSITIVE_INFINITY });
      this.#waiting.resources = resources;
      return;
    }
    const systemd = await this.#bus();
    const converted = resourceProperties(resources, {
      unified: this.#unified(),
      version: await systemd.version(),
    });
    // What the files would refuse is refused before systemd changes anything.
    checkCgroupResources(this.files, converted.resources);
    const frozen = await this.#freezeForDevices(converted.properties);
    try {
      await systemd.setUnitProperties(
        this.unit.name,
        converted.properties.map((p) => [p.name, p.value]),
      );
    } catch (error) {
      throw refusal(error, converted.properties, this.unit.name);
    } finally {
      if (frozen) await this.files.freeze('thawed');
    }
    await this.files.set(converted.resources);
  }

  /**
   * On cgroup v1 systemd rewrites a unit's device list from deny-all up, so a running container
   * could see a denied /dev/null meanwhile: freeze it around the change, as runc does.
   */
  async #freezeForDevices(properties: readonly UnitProperty[]): Promise<boolean> {
    if (this.#unified() || !properties.some((p) => p.name === 'DeviceAllow')) return false;
    if (!this.files.getPaths().freezer || !this.files.exists()) return false;
    if ((await this.files.getFreezerState().catch(() => 'frozen')) !== 'thawed') return false;
    await this.files.freeze('frozen');
    return true;
  }

  /**
   * Kills what is left and removes the files' cgroups first (systemd would give each process
   * SIGTERM and wait its stop timeout, 90 s by default), then stops the unit and waits for it to
   * go, and forgets it if it failed.
   */
  async destroy(): Promise<void> {
    this.#waiting = undefined;
    await this.#removeFiles();
    const systemd = await this.#bus();
    await systemd.stopUnit(this.unit.name);
    await systemd.resetFailedUnit(this.unit.name);
    // What systemd does not remove itself: v1 controllers it does not manage, sub-cgroups.
    await this.#removeFiles();
  }

  /** Removes the files' cgroups; systemd may remove the scope's own at the same moment, once it empties. */
  async #removeFiles(): Promise<void> {
    try {
      if (this.files.exists()) await this.files.destroy();
    } catch (error) {
      if (this.files.exists()) throw error;
    }
  }

  /** The cgroup is there, or systemd still has the unit loaded. */
  override exists(): boolean {
    return this.files.exists() || existsSync(`${this.#transientDir}/${this.unit.name}`);
  }
}

/** Refuses --systemd-cgroup where it cannot work, before anything is made. */
export function requireSystemd(): void {
  if (!isRunningSystemd()) {
    throw notSupported(
      'systemd is not running on this host (no /run/systemd/system); use the cgroupfs driver (leave out --systemd-cgroup)',
      '--systemd-cgroup',
    );
  }
}
