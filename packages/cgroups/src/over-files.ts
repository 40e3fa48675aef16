import type {
  CgroupManager,
  CgroupMode,
  CgroupStats,
  FreezerState,
  LinuxResources,
  OomEvent,
} from './types.js';

/**
 * A manager that does some of its work its own way and the rest with the files of the driver
 * below it (`files`): the systemd and rootless managers. What a subclass does not override reads
 * and acts on the cgroup files.
 */
export abstract class OverFilesCgroupManager implements CgroupManager {
  readonly files: CgroupManager;

  constructor(files: CgroupManager) {
    this.files = files;
  }

  get mode(): CgroupMode {
    return this.files.mode;
  }

  get systemdUnit(): string | undefined {
    return this.files.systemdUnit;
  }

  abstract apply(pid: number): Promise<void>;
  abstract set(resources: LinuxResources): Promise<void>;
  abstract destroy(): Promise<void>;

  getStats(): Promise<CgroupStats> {
    return this.files.getStats();
  }

  getPids(options?: { recursive?: boolean }): Promise<number[]> {
    return this.files.getPids(options);
  }

  freeze(state: FreezerState): Promise<void> {
    return this.files.freeze(state);
  }

  getFreezerState(): Promise<FreezerState | 'freezing'> {
    return this.files.getFreezerState();
  }

  getPaths(): Record<string, string> {
    return this.files.getPaths();
  }

  exists(): boolean {
    return this.files.exists();
  }

  oomEvents(): AsyncIterableIterator<OomEvent> {
    return this.files.oomEvents();
  }
}
