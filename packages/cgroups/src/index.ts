export { type WriteTarget, writeResources } from './apply.js';
export {
  blkioWeightToIoWeight,
  CPU_SHARES_MAX,
  CPU_SHARES_MIN,
  CPU_WEIGHT_MAX,
  cpuMax,
  cpuSharesToCpuWeight,
  cpuSharesToCpuWeightLinear,
  memorySwapToV2,
} from './convert.js';
export { assembleDeviceProgram, encodeInstructions } from './devices/ebpf.js';
export { attachDeviceProgram, attachedDevicePrograms } from './devices/program.js';
export {
  DEFAULT_ALLOWED_DEVICES,
  DENY_ALL_DEVICES,
  type DeviceRule,
  deviceRuleLine,
  effectiveDeviceRules,
  normalizeDeviceRule,
  withDefaultDevices,
} from './devices/rules.js';
export { CgroupError, type CgroupErrorCode } from './errors.js';
export { HybridCgroupManager } from './hybrid.js';
export { cgroupManagerFromPaths, createCgroupManager } from './manager.js';
export {
  type CgroupMount,
  type CgroupMounts,
  cgroupModeOf,
  cgroupMounts,
  detectCgroupMode,
  parseCgroupMounts,
  parseProcCgroup,
  V1_CONTROLLERS,
  type V1Controller,
} from './mounts.js';
export { parseMemoryEvents } from './oom.js';
export {
  type CgroupDirectories,
  type CgroupPath,
  type CgroupPathOptions,
  cgroupDirectories,
  resolveCgroupPath,
} from './paths.js';
export { planRootlessCgroup, type RootlessCgroup, RootlessCgroupManager } from './rootless.js';
export type * from './types.js';
export { CgroupV1Manager } from './v1/manager.js';
export { CgroupV2Manager } from './v2/manager.js';
export { parseCpuList, validateResources } from './validate.js';
