import { notSupported } from './errors.js';
import { HybridCgroupManager } from './hybrid.js';
import type { CgroupManager, LinuxResources } from './types.js';
import { CgroupV1Manager, v1Targets } from './v1/manager.js';
import { CgroupV2Manager } from './v2/manager.js';
import { validateResources } from './validate.js';

/**
 * Refuses, before any cgroup is created, what `manager` could not apply: a value out of range, a
 * resource this host's cgroup version cannot express, a controller that is not mounted or that
 * the cgroup's parent cannot be given. Each error names the config field. What only the new
 * cgroup's own files can tell (a unified key's file, a huge page size) is checked by set().
 */
export function checkCgroupResources(manager: CgroupManager, resources: LinuxResources): void {
  if (manager instanceof CgroupV2Manager || manager instanceof HybridCgroupManager) {
    manager.checkResources(resources);
    return;
  }
  validateResources(resources);
  if (!(manager instanceof CgroupV1Manager)) return;
  const unified = Object.keys(resources.unified ?? {});
  if (unified.length > 0) {
    throw notSupported(
      'cgroup v2 settings cannot be applied on a cgroup v1 host',
      `linux.resources.unified["${unified[0]}"]`,
    );
  }
  for (const { writer } of v1Targets(manager.dirs, resources, (controller, field) => {
    throw notSupported(`the ${controller} controller is not mounted on this host`, field);
  }))
    writer.refuse?.(resources);
}
