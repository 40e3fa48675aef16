import { existsSync } from 'node:fs';

import { type WriteTarget, writeResources } from './apply.js';
import { notSupported } from './errors.js';
import type { V1Controller } from './mounts.js';
import type {
  CgroupEntryPaths,
  CgroupManager,
  CgroupMode,
  CgroupStats,
  FreezerState,
  LinuxResources,
  OomEvent,
} from './types.js';
import { type CgroupV1Manager, v1Targets } from './v1/manager.js';
import type { CgroupV2Manager } from './v2/manager.js';
import { readHugetlbStatsV2 } from './v2/stats.js';
import { unifiedWriter, V2_WRITERS } from './v2/writers.js';
import { validateResources } from './validate.js';

/** v1 controller names whose v2 counterpart has another name. */
const V2_NAME: Partial<Record<V1Controller, string>> = { blkio: 'io' };

/**
 * Hybrid hosts: v1 controllers do the work, and the cgroup2 mount beside them takes the
 * process too (so v2 tools and BPF see it) and serves the controllers v1 lacks, such as
 * hugetlb on hosts that mount it only on v2. Unified keys go to v2 when their controller is
 * not a v1 one.
 */
export class HybridCgroupManager implements CgroupManager {
  readonly mode: CgroupMode = 'hybrid';
  readonly v1: CgroupV1Manager;
  readonly v2: CgroupV2Manager;

  constructor(v1: CgroupV1Manager, v2: CgroupV2Manager) {
    this.v1 = v1;
    this.v2 = v2;
  }

  async apply(pid: number): Promise<void> {
    await this.v1.apply(pid);
    try {
      await this.v2.apply(pid);
    } catch (error) {
      if (pid === -1) await this.v1.destroy().catch(() => {});
      throw error;
    }
  }

  entryPaths(): CgroupEntryPaths {
    return { startIn: this.v2.dir, tasksFiles: this.v1.entryPaths().tasksFiles };
  }

  /** Controllers v1 does not have here: v2 may serve them. */
  #v2Serves(controller: string): boolean {
    if (controller === '') return false;
    return ![...this.v1.dirs.keys()].some((v1) => (V2_NAME[v1] ?? v1) === controller);
  }

  /** A v1 controller with a v2 writer (net_cls and net_prio have none). */
  #v2Has(controller: string): boolean {
    return V2_WRITERS.some(([name]) => name !== '' && name === controller);
  }

  /** Which writes go to v1 and which to v2, refusing what neither can take. */
  #plan(resources: LinuxResources): { targets: WriteTarget[]; v2Controllers: Map<string, string> } {
    validateResources(resources);
    const v2Needed = new Set<string>();
    const targets = v1Targets(this.v1.dirs, resources, (controller, field) => {
      const name = V2_NAME[controller] ?? controller;
      if (!this.#v2Has(name) || !this.#v2Serves(name))
        throw notSupported(`the ${controller} controller is not mounted on this host`, field);
      v2Needed.add(name);
      return undefined;
    });
    for (const key of Object.keys(resources.unified ?? {})) {
      const controller = key.slice(0, key.indexOf('.'));
      if (controller !== 'cgroup' && !this.#v2Serves(controller)) {
        throw notSupported(
          `${controller} is managed through cgroup v1 on this hybrid host; set it with the OCI fields`,
          `linux.resources.unified["${key}"]`,
        );
      }
      v2Needed.add(controller);
    }
    const v2 = this.v2.targets(resources, (controller) => v2Needed.has(controller));
    const unified =
      Object.keys(resources.unified ?? {}).length > 0 ? [{ dir: this.v2.dir, writer: unifiedWriter() }] : [];
    const all = [...targets, ...v2.targets, ...unified];
    for (const { writer } of all) writer.refuse?.(resources);
    return { targets: all, v2Controllers: v2.controllers };
  }

  /** What can be refused before the cgroups exist (see CgroupV2Manager.checkResources). */
  checkResources(resources: LinuxResources): void {
    this.v2.checkDelegation(this.#plan(resources).v2Controllers);
  }

  async set(resources: LinuxResources): Promise<void> {
    const { targets, v2Controllers } = this.#plan(resources);
    writeResources(resources, targets, () => this.v2.enableControllers(v2Controllers));
  }

  async getStats(): Promise<CgroupStats> {
    const stats = await this.v1.getStats();
    if (!this.v1.dirs.has('hugetlb') && existsSync(this.v2.dir)) readHugetlbStatsV2(this.v2.dir, stats);
    return stats;
  }

  getPids(options?: { recursive?: boolean }): Promise<number[]> {
    return this.v1.getPids(options);
  }

  /** The v1 freezer when mounted (as runc does on hybrid hosts), else cgroup.freeze on v2. */
  freeze(state: FreezerState): Promise<void> {
    return this.v1.dirs.has('freezer') ? this.v1.freeze(state) : this.v2.freeze(state);
  }

  getFreezerState(): Promise<FreezerState | 'freezing'> {
    return this.v1.dirs.has('freezer') ? this.v1.getFreezerState() : this.v2.getFreezerState();
  }

  async destroy(): Promise<void> {
    await this.v1.destroy();
    await this.v2.destroy();
  }

  getPaths(): Record<string, string> {
    return { ...this.v1.getPaths(), '': this.v2.dir };
  }

  exists(): boolean {
    return this.v1.exists() || this.v2.exists();
  }

  oomEvents(): AsyncIterableIterator<OomEvent> {
    return this.v1.oomEvents();
  }
}
