import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

import { type WriteTarget, writeResources } from '../apply.js';
import { collectPids, killAll, makeCgroupDir, readProcs, removeCgroupTree, waitUntil } from '../cgroupfs.js';
import { CgroupError, errnoCode, notSupported } from '../errors.js';
import { parseKeyValues, readCgroupFile, sleep, writeCgroupFile } from '../files.js';
import { v2FreezerState } from '../freezer-state.js';
import { oomEventsV2 } from '../oom.js';
import { emptyStats } from '../stats.js';
import type {
  CgroupEntryPaths,
  CgroupManager,
  CgroupMode,
  CgroupStats,
  FreezerState,
  LinuxResources,
  OomEvent,
} from '../types.js';
import { movePid } from '../v1/manager.js';
import { validateResources } from '../validate.js';
import { V2_STATS } from './stats.js';
import { unifiedController, V2_WRITERS } from './writers.js';

const FREEZE_TIMEOUT_MS = 10_000;
const EMPTY_TIMEOUT_MS = 10_000;

const words = (text: string) => text.trim().split(/\s+/).filter(Boolean);

/** The cgroup v2 driver: one directory in the unified hierarchy. */
export class CgroupV2Manager implements CgroupManager {
  readonly mode: CgroupMode = 'unified';
  readonly dir: string;
  /** The hierarchy's mount point: controllers are enabled from here down. */
  readonly mountpoint: string;

  constructor(dir: string, mountpoint: string) {
    if (relative(mountpoint, dir).startsWith('..')) throw new Error(`${dir} is not below ${mountpoint}`);
    this.dir = dir;
    this.mountpoint = mountpoint;
  }

  async apply(pid: number): Promise<void> {
    const created = makeCgroupDir(this.dir);
    try {
      if (pid !== -1) await movePid(this.dir, pid);
    } catch (error) {
      for (const dir of created.reverse()) await removeCgroupTree(dir, 100).catch(() => {});
      throw error;
    }
  }

  entryPaths(): CgroupEntryPaths {
    return { startIn: this.dir, tasksFiles: [] };
  }

  /** Controllers this cgroup can use, as its parent made them available. */
  #available(dir: string): string[] {
    return words(readCgroupFile(dir, 'cgroup.controllers'));
  }

  /** The levels above this cgroup, from the mount point down to its parent. */
  #ancestors(): string[] {
    const ancestors: string[] = [];
    for (let dir = dirname(this.dir); dir.length >= this.mountpoint.length; dir = dirname(dir)) {
      ancestors.unshift(dir);
      if (dir === this.mountpoint) break;
    }
    return ancestors;
  }

  /**
   * Refuses, naming the field that needs it, a controller this cgroup cannot be given: one the
   * hierarchy lacks, one a level above does not pass down, or one that would have to be enabled
   * in a cgroup with processes of its own (cgroup v2 passes domain controllers only to children
   * of cgroups without processes). Reads only; levels that do not exist yet would start empty.
   */
  checkDelegation(needed: ReadonlyMap<string, string>): void {
    if (needed.size === 0) return;
    const offered = this.#available(this.mountpoint);
    for (const [controller, field] of needed) {
      if (!offered.includes(controller)) {
        throw notSupported(
          `the ${controller} controller is not available on the cgroup v2 hierarchy at ${this.mountpoint}`,
          field,
        );
      }
    }
    let passedDown = new Set<string>();
    for (const dir of this.#ancestors()) {
      if (!existsSync(dir)) break;
      const available = new Set([...this.#available(dir), ...passedDown]);
      const enabled = words(readCgroupFile(dir, 'cgroup.subtree_control'));
      for (const [controller, field] of needed) {
        if (enabled.includes(controller)) continue;
        if (!available.has(controller)) {
          throw notSupported(
            `the ${controller} controller is not delegated to ${dir} (its parent does not list it in cgroup.subtree_control)`,
            field,
          );
        }
        if (dir !== this.mountpoint && readProcs(dir).length > 0) {
          throw notSupported(
            `the ${controller} controller is not enabled in ${dir}/cgroup.subtree_control and cannot be: that cgroup has processes of its own`,
            field,
          );
        }
      }
      passedDown = new Set([...enabled, ...needed.keys()]);
    }
  }

  /**
   * Enables the controllers `needed` asks for in every ancestor's cgroup.subtree_control, top
   * down, as runc does, once checkDelegation has found that it can.
   */
  enableControllers(needed: ReadonlyMap<string, string>): void {
    const missing = [...needed].filter(([controller]) => !this.#available(this.dir).includes(controller));
    if (missing.length === 0) return;
    this.checkDelegation(new Map(missing));
    for (const dir of this.#ancestors()) {
      const enabled = words(readCgroupFile(dir, 'cgroup.subtree_control'));
      const add = missing
        .map(([controller]) => controller)
        .filter((controller) => !enabled.includes(controller));
      if (add.length > 0) writeCgroupFile(dir, 'cgroup.subtree_control', add.map((c) => `+${c}`).join(' '));
    }
  }

  /**
   * Everything about `resources` that is known before the cgroup exists: the values, what cgroup
   * v2 cannot express, and whether this cgroup can have the controllers they need.
   */
  checkResources(resources: LinuxResources): void {
    validateResources(resources);
    const { targets, controllers } = this.targets(resources);
    for (const { writer } of targets) writer.refuse?.(resources);
    this.checkDelegation(controllers);
  }

  /**
   * The writes `resources` needs here, limited to the controllers `accept` lets through (the
   * hybrid driver gives v2 only what v1 lacks), with the controllers they need.
   */
  targets(
    resources: LinuxResources,
    accept: (controller: string) => boolean = () => true,
  ): {
    targets: WriteTarget[];
    controllers: Map<string, string>;
  } {
    const targets: WriteTarget[] = [];
    const controllers = new Map<string, string>();
    for (const [controller, writer] of V2_WRITERS) {
      const field = writer.wants(resources);
      if (!field || !accept(controller)) continue;
      if (controller) controllers.set(controller, field);
      targets.push({ dir: this.dir, writer });
    }
    for (const key of Object.keys(resources.unified ?? {})) {
      const controller = unifiedController(key);
      if (controller !== 'cgroup' && accept(controller) && !controllers.has(controller)) {
        controllers.set(controller, `linux.resources.unified["${key}"]`);
      }
    }
    return { targets, controllers };
  }

  async set(resources: LinuxResources): Promise<void> {
    this.checkResources(resources);
    const { targets, controllers } = this.targets(resources);
    writeResources(resources, targets, () => this.enableControllers(controllers));
  }

  async getStats(): Promise<CgroupStats> {
    const stats = emptyStats();
    if (existsSync(this.dir)) for (const read of V2_STATS) read(this.dir, stats);
    return stats;
  }

  async getPids(options: { recursive?: boolean } = {}): Promise<number[]> {
    return collectPids(this.dir, options.recursive ?? false);
  }

  #events(): Record<string, number> {
    return parseKeyValues(readCgroupFile(this.dir, 'cgroup.events'));
  }

  async getFreezerState(): Promise<FreezerState | 'freezing'> {
    return v2FreezerState(this.dir);
  }

  async freeze(state: FreezerState): Promise<void> {
    if (!existsSync(join(this.dir, 'cgroup.freeze'))) {
      throw notSupported(`${this.dir} has no cgroup.freeze (the v2 freezer needs Linux 5.2)`);
    }
    const want = state === 'frozen' ? 1 : 0;
    writeCgroupFile(this.dir, 'cgroup.freeze', String(want));
    // cgroup.events says "frozen 1" only once every task has stopped.
    const done = await waitUntil(() => this.#events().frozen === want, FREEZE_TIMEOUT_MS);
    if (!done) {
      // A half-frozen cgroup is worse than a running one: thaw it again before saying so.
      if (want === 1) writeCgroupFile(this.dir, 'cgroup.freeze', '0');
      throw new CgroupError(
        'SYSTEM',
        `${this.dir}: cgroup.events did not say "frozen ${want}" within ${FREEZE_TIMEOUT_MS / 1000} s${want === 1 ? ' (a process may be in uninterruptible sleep); the cgroup was thawed again' : ''}`,
        { path: this.dir },
      );
    }
  }

  /** Kills every process below the cgroup: cgroup.kill where the kernel has it, else freeze, kill, thaw. */
  async killAll(): Promise<void> {
    if (!existsSync(this.dir)) return;
    if (existsSync(join(this.dir, 'cgroup.kill'))) {
      writeCgroupFile(this.dir, 'cgroup.kill', '1');
    } else {
      await this.freeze('frozen');
      killAll(collectPids(this.dir, true));
      await this.freeze('thawed');
    }
    const empty = await waitUntil(() => this.#events().populated === 0, EMPTY_TIMEOUT_MS);
    if (!empty) {
      const left = collectPids(this.dir, true);
      throw new CgroupError(
        'SYSTEM',
        `processes ${left.join(', ')} in ${this.dir} did not exit after SIGKILL`,
        {
          path: this.dir,
        },
      );
    }
  }

  async destroy(): Promise<void> {
    let populated: boolean;
    try {
      populated = this.#events().populated === 1;
    } catch (error) {
      // Removed meanwhile (systemd removes a stopped scope's cgroup): ENOENT before the open,
      // ENODEV once the directory is gone under an open file.
      const code = errnoCode((error as Error).cause);
      if (code === 'ENOENT' || code === 'ENODEV') return;
      throw error;
    }
    if (populated) await this.killAll();
    // A css can stay busy for a moment after the last task left.
    await sleep(0);
    await removeCgroupTree(this.dir);
  }

  getPaths(): Record<string, string> {
    return { '': this.dir };
  }

  exists(): boolean {
    return existsSync(this.dir);
  }

  oomEvents(): AsyncIterableIterator<OomEvent> {
    return oomEventsV2(this.dir);
  }
}
