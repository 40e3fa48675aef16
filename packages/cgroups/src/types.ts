/** OCI runtime-spec `linux.resources`, with the spec's own field names. */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCpu;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, LinuxRdma>;
  unified?: Record<string, string>;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'b' | 'c';
  major?: number;
  minor?: number;
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCpu {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  limit: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  pageSize: string;
  limit: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: Array<{ name: string; priority: number }>;
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export type CgroupMode = 'legacy' | 'hybrid' | 'unified';

export type FreezerState = 'frozen' | 'thawed';

/** Statistics in libcontainer's `cgroups.Stats` shape (camelCase field names). */
export interface CgroupStats {
  cpuStats: CpuStats;
  /** The CPUs and memory nodes the cgroup may use (cgroup v2's cpuset.*.effective). */
  cpusetStats?: { cpus: number[]; mems: number[] };
  memoryStats: MemoryStats;
  pidsStats: PidsStats;
  blkioStats: BlkioStats;
  hugetlbStats: Record<string, HugetlbStats>;
}

export interface CpuStats {
  cpuUsage: {
    /** Nanoseconds. */
    totalUsage: number;
    percpuUsage: number[];
    percpuUsageInKernelmode: number[];
    percpuUsageInUsermode: number[];
    usageInKernelmode: number;
    usageInUsermode: number;
  };
  throttlingData: { periods: number; throttledPeriods: number; throttledTime: number };
  /** Pressure stall information (cgroup v2's cpu.pressure). */
  psi?: PsiStats;
}

/** One line of a cgroup v2 *.pressure file: stall percentages over 10, 60 and 300 s, total in µs. */
export interface PsiData {
  avg10: number;
  avg60: number;
  avg300: number;
  total: number;
}

export interface PsiStats {
  some: PsiData;
  full: PsiData;
}

/** On cgroup v2 an unlimited `limit` is Infinity (libcontainer's MaxUint64). */
export interface MemoryData {
  usage: number;
  maxUsage: number;
  failcnt: number;
  limit: number;
}

export interface MemoryStats {
  cache: number;
  usage: MemoryData;
  /** Memory and swap together, as cgroup v1 counts them (so on v2 too, as runc reports it). */
  swapUsage: MemoryData;
  /** Swap alone (cgroup v2 only). */
  swapOnlyUsage?: MemoryData;
  kernelUsage: MemoryData;
  useHierarchy: boolean;
  stats: Record<string, number>;
  /** Pressure stall information (cgroup v2's memory.pressure). */
  psi?: PsiStats;
}

export interface PidsStats {
  current: number;
  /** 0 when unlimited, as libcontainer reports it. */
  limit: number;
}

export interface BlkioStatEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioStatEntry[];
  ioServicedRecursive: BlkioStatEntry[];
  /** Pressure stall information (cgroup v2's io.pressure). */
  psi?: PsiStats;
}

export interface HugetlbStats {
  usage: number;
  maxUsage: number;
  failcnt: number;
}

/** One OOM notification: `count` is how many OOM events the kernel reported since the last one. */
export interface OomEvent {
  count: number;
}

/**
 * A way into a cgroup that needs no pid written by the runtime: such a write takes the kernel's
 * thread-group lock, and the first one waits on an RCU grace period (10 to 20 ms).
 */
export interface CgroupEntryPaths {
  /** The cgroup2 directory, for clone3's CLONE_INTO_CGROUP. */
  startIn?: string;
  /** Each v1 hierarchy's tasks file: a single-threaded process writes "0" to move itself. */
  tasksFiles: string[];
}

/** CgroupEntryPaths opened; the caller closes them once the process has its copies. */
export interface CgroupEntry {
  startIn?: number;
  tasksFiles: number[];
  close(): void;
}

/** The one interface every driver implements. */
export interface CgroupManager {
  readonly mode: CgroupMode;
  /** The systemd unit the cgroup belongs to (systemd driver): record it beside getPaths(). */
  readonly systemdUnit?: string;
  /** Creates the cgroup(s) if needed and moves the process in; pid -1 only creates. */
  apply(pid: number): Promise<void>;
  /**
   * The files through which a new process enters the cgroup(s) once apply(-1) made them, instead
   * of being moved by pid (openCgroupEntry opens them). Absent in drivers that only move
   * processes by pid (systemd, rootless).
   */
  entryPaths?(): CgroupEntryPaths;
  /** Validates then writes resources; a failure part way restores what was written. */
  set(resources: LinuxResources): Promise<void>;
  getStats(): Promise<CgroupStats>;
  getPids(options?: { recursive?: boolean }): Promise<number[]>;
  /** Resolves only once the cgroup really is frozen (or thawed). */
  freeze(state: FreezerState): Promise<void>;
  getFreezerState(): Promise<FreezerState | 'freezing'>;
  /** Kills what is left and removes the cgroup(s), retrying EBUSY. */
  destroy(): Promise<void>;
  /** Controller (or '' for the v2 hierarchy) -> absolute directory. */
  getPaths(): Record<string, string>;
  exists(): boolean;
  /** OOM notifications until the cgroup is removed or the iterator is returned. */
  oomEvents(): AsyncIterableIterator<OomEvent>;
}
