import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every case's cgroup is below this parent, in each hierarchy. */
export const CGROUP_PARENT = 'corral-compat';

/** The mount points of this host's cgroup hierarchies (v1 controllers and the cgroup2 mount). */
export function cgroupHierarchies(): string[] {
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    const fstype = after?.split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') points.push(before!.split(' ')[4]!);
  }
  return points;
}

/** The directory of `path` (a cgroupsPath from the root) in a controller's hierarchy. */
export function cgroupDir(controller: string, path: string): string {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return join('/sys/fs/cgroup', path);
  return join('/sys/fs/cgroup', controller === '' ? 'unified' : controller, path);
}

/** A cgroup file of `path`, trimmed, or "<missing>". */
export function readCgroupFile(controller: string, path: string, file: string): string {
  try {
    return readFileSync(join(cgroupDir(controller, path), file), 'utf8').trim();
  } catch {
    return '<missing>';
  }
}

/**
 * Makes a cgroup (and its missing parents) in every hierarchy, as an administrator would
 * with mkdir. A new cpuset level takes its parent's CPUs and memory nodes unless `emptyCpuset`
 * asks to leave the last level as the kernel makes it (with none).
 */
export function createCgroup(path: string, options: { emptyCpuset?: boolean } = {}): void {
  const parts = path.split('/').filter(Boolean);
  for (const hierarchy of cgroupHierarchies()) {
    let dir = hierarchy;
    parts.forEach((part, index) => {
      const parent = dir;
      dir = join(dir, part);
      if (existsSync(dir)) return;
      mkdirSync(dir);
      const last = index === parts.length - 1;
      if (!existsSync(join(dir, 'cpuset.cpus')) || (last && options.emptyCpuset)) return;
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        writeFileSync(join(dir, file), readFileSync(join(parent, file), 'utf8').trim());
      }
    });
  }
}

/** Moves a process (one the test started) into a cgroup in every hierarchy. */
export function joinCgroup(path: string, pid: number): void {
  for (const hierarchy of cgroupHierarchies())
    writeFileSync(join(hierarchy, path, 'cgroup.procs'), String(pid));
}

function subtreeDeepestFirst(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
  return [...names.flatMap((name) => subtreeDeepestFirst(join(dir, name))), dir];
}

/**
 * Removes a case's cgroup tree from every hierarchy, killing what is left in it first: runc
 * removes a container's own cgroup but not the parents it made on the way.
 */
export async function removeCgroupTree(path: string): Promise<void> {
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of subtreeDeepestFirst(join(hierarchy, path))) {
      for (let attempt = 0; ; attempt++) {
        try {
          for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              // Gone already.
            }
          }
          // A frozen cgroup's processes die only once thawed.
          if (existsSync(join(dir, 'freezer.state'))) writeFileSync(join(dir, 'freezer.state'), 'THAWED');
          if (existsSync(join(dir, 'cgroup.freeze'))) writeFileSync(join(dir, 'cgroup.freeze'), '0');
        } catch {
          // No such file in this hierarchy.
        }
        try {
          rmdirSync(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || attempt > 100) break;
          await sleep(20);
        }
      }
    }
  }
}

/** Removes the cgroups that a crashed earlier run left (their names carry its pid). */
export async function removeLeftoverCgroups(): Promise<void> {
  const seen = new Set<string>();
  for (const hierarchy of cgroupHierarchies()) {
    const parent = join(hierarchy, CGROUP_PARENT);
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      const pid = Number.parseInt(/^[a-z0-9]+-([a-z0-9]+)-/.exec(name)?.[1] ?? '', 36);
      if (!Number.isFinite(pid) || seen.has(name)) continue;
      try {
        process.kill(pid, 0);
      } catch {
        seen.add(name);
      }
    }
  }
  for (const name of seen) await removeCgroupTree(join(CGROUP_PARENT, name));
}
