import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { type WriteTarget, writeResources } from '../apply.js';
import { collectPids, killAll, makeCgroupDir, removeCgroupTree, waitUntil } from '../cgroupfs.js';
import type { ControllerWriter } from '../controller.js';
import { CgroupError, errnoCode, notSupported, systemError } from '../errors.js';
import { readCgroupFile, sleep, writeCgroupFile } from '../files.js';
import { v1FreezerState } from '../freezer-state.js';
import type { V1Controller } from '../mounts.js';
import { oomEventsV1 } from '../oom.js';
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
import { validateResources } from '../validate.js';
import { blkioV1 } from './blkio.js';
import { cpusetV1, cpuV1 } from './cpu.js';
import { devicesV1 } from './devices.js';
import { memoryV1 } from './memory.js';
import { hugetlbV1, netClsV1, netPrioV1, pidsV1, rdmaWriter } from './misc.js';
import {
  readBlkioStatsV1,
  readCpuacctStatsV1,
  readCpuStatsV1,
  readHugetlbStatsV1,
  readMemoryStatsV1,
  readPidsStatsV1,
} from './stats.js';

/** The writers, in the order resources are applied (devices last, as runc does). */
export const V1_WRITERS: ReadonlyArray<[V1Controller, ControllerWriter]> = [
  ['cpuset', cpusetV1],
  ['cpu', cpuV1],
  ['memory', memoryV1],
  ['pids', pidsV1],
  ['blkio', blkioV1],
  ['hugetlb', hugetlbV1],
  ['net_cls', netClsV1],
  ['net_prio', netPrioV1],
  ['rdma', rdmaWriter],
  ['devices', devicesV1],
];

const V1_STATS: ReadonlyArray<[V1Controller, (dir: string, stats: CgroupStats) => void]> = [
  ['cpuacct', readCpuacctStatsV1],
  ['cpu', readCpuStatsV1],
  ['memory', readMemoryStatsV1],
  ['pids', readPidsStatsV1],
  ['blkio', readBlkioStatsV1],
  ['hugetlb', readHugetlbStatsV1],
];

const FREEZE_TIMEOUT_MS = 10_000;
const EMPTY_TIMEOUT_MS = 10_000;

/** A new cpuset cgroup starts with no CPUs and no memory nodes: give it its parent's. */
function inheritCpuset(dir: string): void {
  for (const name of ['cpuset.cpus', 'cpuset.mems']) {
    if (readCgroupFile(dir, name).trim() === '')
      writeCgroupFile(dir, name, readCgroupFile(dirname(dir), name).trim());
  }
}

/**
 * Every level from the nearest one that has CPUs and memory nodes down to `dir` takes them
 * from its parent, top first, as runc does: an existing parent that someone made with mkdir
 * has none, and no process could join below it (ENOSPC).
 */
function fillCpusetDownTo(dir: string): void {
  const empty: string[] = [];
  for (let level = dir; ; level = dirname(level)) {
    let cpus: string;
    let mems: string;
    try {
      cpus = readCgroupFile(level, 'cpuset.cpus').trim();
      mems = readCgroupFile(level, 'cpuset.mems').trim();
    } catch {
      break; // Above the hierarchy's root.
    }
    if (cpus !== '' && mems !== '') break;
    empty.unshift(level);
  }
  for (const level of empty) inheritCpuset(level);
}

/** Writes a pid into cgroup.procs; EINVAL can mean a task still being created, so retry briefly. */
export async function movePid(dir: string, pid: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      writeCgroupFile(dir, 'cgroup.procs', String(pid));
      return;
    } catch (error) {
      if (errnoCode((error as Error).cause) !== 'EINVAL' || attempt >= 5) throw error;
    }
    await sleep(30);
  }
}

/** Targets for the resources that v1 controllers take; `missing` decides what to do without one. */
export function v1Targets(
  dirs: ReadonlyMap<V1Controller, string>,
  resources: LinuxResources,
  missing: (controller: V1Controller, field: string) => WriteTarget | undefined,
): WriteTarget[] {
  const targets: WriteTarget[] = [];
  for (const [controller, writer] of V1_WRITERS) {
    const field = writer.wants(resources);
    if (!field) continue;
    const dir = dirs.get(controller);
    if (dir) targets.push({ dir, writer });
    else {
      const fallback = missing(controller, field);
      if (fallback) targets.push(fallback);
    }
  }
  return targets;
}

/** The cgroup v1 driver: one directory per mounted controller. */
export class CgroupV1Manager implements CgroupManager {
  readonly mode: CgroupMode = 'legacy';
  readonly dirs: ReadonlyMap<V1Controller, string>;

  constructor(dirs: ReadonlyMap<V1Controller, string>) {
    this.dirs = dirs;
  }

  /** Each directory once (co-mounted controllers such as cpu,cpuacct share one). */
  uniqueDirs(): string[] {
    return [...new Set(this.dirs.values())];
  }

  async apply(pid: number): Promise<void> {
    const created: string[] = [];
    try {
      for (const [controller, dir] of this.dirs) {
        created.push(...makeCgroupDir(dir));
        if (controller === 'cpuset') fillCpusetDownTo(dir);
      }
      if (pid !== -1) for (const dir of this.uniqueDirs()) await movePid(dir, pid);
    } catch (error) {
      // Remove what this call made, newest first; a directory the pid already entered stays.
      for (const dir of created.reverse()) await removeCgroupTree(dir, 100).catch(() => {});
      throw error;
    }
  }

  /** The freezer's last: a process entering a frozen cgroup stops there, with the rest to join. */
  entryPaths(): CgroupEntryPaths {
    const freezer = this.dirs.get('freezer');
    const dirs = this.uniqueDirs().sort((a, b) => Number(a === freezer) - Number(b === freezer));
    return { tasksFiles: dirs.map((dir) => join(dir, 'tasks')) };
  }

  async set(resources: LinuxResources): Promise<void> {
    validateResources(resources);
    if (resources.unified && Object.keys(resources.unified).length > 0) {
      throw notSupported(
        'unified (cgroup v2) settings cannot be applied on cgroup v1',
        'linux.resources.unified',
      );
    }
    writeResources(
      resources,
      v1Targets(this.dirs, resources, (controller, field) => {
        throw notSupported(`the ${controller} controller is not mounted on this host`, field);
      }),
    );
  }

  async getStats(): Promise<CgroupStats> {
    const stats = emptyStats();
    for (const [controller, read] of V1_STATS) {
      const dir = this.dirs.get(controller);
      if (dir && existsSync(dir)) read(dir, stats);
    }
    return stats;
  }

  async getPids(options: { recursive?: boolean } = {}): Promise<number[]> {
    // Every process is in every hierarchy: any one of them lists them all.
    const dir = this.dirs.get('pids') ?? this.dirs.get('freezer') ?? this.uniqueDirs()[0];
    return dir ? collectPids(dir, options.recursive ?? false) : [];
  }

  #freezerDir(): string {
    const dir = this.dirs.get('freezer');
    if (!dir) throw notSupported('the freezer controller is not mounted on this host');
    return dir;
  }

  async getFreezerState(): Promise<FreezerState | 'freezing'> {
    return v1FreezerState(this.#freezerDir());
  }

  async freeze(state: FreezerState): Promise<void> {
    const dir = this.#freezerDir();
    const target = state === 'frozen' ? 'FROZEN' : 'THAWED';
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      // Writing FROZEN again nudges tasks that were busy (in vfork, say) when it was first asked.
      if (attempt % 10 === 0) writeCgroupFile(dir, 'freezer.state', target);
      if (readCgroupFile(dir, 'freezer.state').trim() === target) return;
      if (Date.now() > deadline) {
        if (state === 'frozen') writeCgroupFile(dir, 'freezer.state', 'THAWED');
        throw new CgroupError(
          'SYSTEM',
          `${dir}: the freezer did not reach ${target} within ${FREEZE_TIMEOUT_MS} ms`,
          {
            path: dir,
          },
        );
      }
      await sleep(Math.min(1 + attempt, 20));
    }
  }

  async destroy(): Promise<void> {
    const dirs = this.uniqueDirs().filter((dir) => existsSync(dir));
    const allPids = () => [...new Set(dirs.flatMap((dir) => collectPids(dir, true)))];
    if (allPids().length > 0) {
      const freezer = this.dirs.get('freezer');
      if (freezer && existsSync(freezer)) {
        // Frozen tasks cannot fork, so the list read while frozen is complete.
        await this.freeze('frozen');
        killAll(allPids());
        await this.freeze('thawed');
      } else {
        killAll(allPids());
      }
      const empty = await waitUntil(() => {
        const left = allPids();
        if (left.length > 0) killAll(left);
        return left.length === 0;
      }, EMPTY_TIMEOUT_MS);
      if (!empty) {
        throw new CgroupError(
          'SYSTEM',
          `processes ${allPids().join(', ')} did not exit after SIGKILL (uninterruptible?)`,
          {
            path: dirs[0],
          },
        );
      }
    }
    for (const dir of dirs) await removeCgroupTree(dir);
  }

  getPaths(): Record<string, string> {
    return Object.fromEntries(this.dirs);
  }

  exists(): boolean {
    return this.uniqueDirs().some((dir) => existsSync(dir));
  }

  oomEvents(): AsyncIterableIterator<OomEvent> {
    const dir = this.dirs.get('memory');
    if (!dir) throw notSupported('the memory controller is not mounted on this host');
    if (!existsSync(join(dir, 'memory.oom_control')))
      throw systemError('open', join(dir, 'memory.oom_control'), new Error('missing'));
    return oomEventsV1(dir);
  }
}
