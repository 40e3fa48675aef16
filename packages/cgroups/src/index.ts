export { type WriteTarget, writeResources } from './apply.js';
export { checkCgroupResources } from './check.js';
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
export { openCgroupEntry } from './entry.js';
export { CgroupError, type CgroupErrorCode } from './errors.js';
export { freezerStateOf } from './freezer-state.js';
export { HybridCgroupManager } from './hybrid.js';
export { refuseCgroupInUse } from './in-use.js';
export { type CgroupManagerOptions, cgroupManagerFromPaths, createCgroupManager } from './manager.js';
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
export { annotationProperties, PROPERTY_ANNOTATION, parseVariantText } from './systemd/annotations.js';
export { Variant } from './systemd/dbus/variant.js';
export { deviceProperties } from './systemd/device-properties.js';
export {
  isRunningSystemd,
  SystemdCgroupManager,
  type SystemdCgroupManagerOptions,
} from './systemd/manager.js';
export {
  cpuMask,
  cpuQuotaProperties,
  resourceProperties,
  startProperties,
  type UnitProperty,
} from './systemd/properties.js';
export {
  DEFAULT_SCOPE_PREFIX,
  DEFAULT_SLICE,
  expandSlice,
  type SystemdUnit,
  systemdUnitFor,
} from './systemd/unit.js';
export { systemdUserManager, USER_SLICE, userBusAddress } from './systemd-user.js';
export type * from './types.js';
export { CgroupV1Manager } from './v1/manager.js';
export { CgroupV2Manager } from './v2/manager.js';
export { parseCpuList, validateResources } from './validate.js';
