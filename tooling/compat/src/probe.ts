/**
 * What a case's process reports about what it sees, one `key=value` line each. Each probe is a
 * fragment of a busybox shell script run as the container's process, so what it reads (its
 * status, its working directory, its terminal) is the process's own.
 */
export type Probe = string;

const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The process's working directory. */
export const cwd: Probe = 'echo "cwd=$(pwd)"';

/** An environment variable, or <unset>. */
export function env(name: string): Probe {
  return `if [ -n "\${${name}+x}" ]; then echo "env.${name}=\${${name}}"; else echo "env.${name}=<unset>"; fi`;
}

/** A field of /proc/self/status (Cpus_allowed_list, NoNewPrivs, CapEff, Seccomp, Mems_allowed_list). */
export function status(field: string): Probe {
  return `echo "status.${field}=$(sed -n 's/^${field}:[[:space:]]*//p' /proc/self/status)"`;
}

/** Mode (octal), owner and type of a path, or the error that stat gave. */
export function stat(path: string): Probe {
  return `echo "stat.${path}=$(stat -c '%a %u:%g %F' ${q(path)} 2>&1 | sed 's/^stat: //')"`;
}

/** Whether a path exists (without following a final symlink). */
export function exists(path: string): Probe {
  return `if [ -e ${q(path)} ] || [ -L ${q(path)} ]; then echo "exists.${path}=yes"; else echo "exists.${path}=no"; fi`;
}

/** The names in a directory, sorted, on one line. */
export function list(path: string): Probe {
  return `echo "list.${path}=$(ls -A ${q(path)} 2>&1 | sort | tr '\\n' ' ')"`;
}

/** The contents of a file, on one line. */
export function read(path: string): Probe {
  return `echo "read.${path}=$(tr '\\n' ' ' < ${q(path)} 2>&1)"`;
}

/** Whether reading a few bytes of a file works, or the error it gives. */
export function canRead(path: string): Probe {
  return `if head -c 1 ${q(path)} >/dev/null 2>/tmp/.probe-err; then echo "canRead.${path}=yes"; else echo "canRead.${path}=$(sed 's/.*: //' /tmp/.probe-err)"; fi`;
}

/** Whether writing a file works, or the error it gives. */
export function canWrite(path: string): Probe {
  // In a subshell: a failed redirection ends the shell it happens in.
  return `if (: > ${q(path)}) 2>/tmp/.probe-err; then echo "canWrite.${path}=yes"; else echo "canWrite.${path}=$(sed 's/.*: //' /tmp/.probe-err)"; fi`;
}

/**
 * How `path` is mounted as the process sees it: the top mount's file system type and per-mount
 * flags (`mount.PATH`), and how many mounts are stacked there (`mounts.PATH`).
 */
export function mount(path: string): Probe {
  return `awk -v p=${q(path)} '$5 == p { n++; for (i = 7; $i != "-"; i++); t = $(i + 1); c = split($6, f, ","); o = ""; for (k = 1; k <= c; k++) if (f[k] ~ /^(ro|rw|nosuid|nodev|noexec)$/) o = o " " f[k]; } END { print "mount." p "=" t o; print "mounts." p "=" n + 0 }' /proc/self/mountinfo`;
}

/** The propagation of the mount at `path` (shared, slave, private or unbindable). */
export function propagation(path: string): Probe {
  return `echo "propagation.${path}=$(awk -v p=${q(path)} '$5 == p { r = "private"; for (i = 7; $i != "-"; i++) { if ($i ~ /^shared:/) r = "shared"; else if ($i ~ /^master:/) r = "slave"; else if ($i == "unbindable") r = "unbindable"; } } END { print r }' /proc/self/mountinfo)"`;
}

/** The device (major:minor) of the file system that `path` is on: the same for one shared mount. */
export function device(path: string): Probe {
  return `echo "device.${path}=$(awk -v p=${q(path)} '$5 == p { d = $3 } END { print d }' /proc/self/mountinfo)"`;
}

/** The terminal's output post-processing flag and who owns the terminal. */
export const terminal: Probe =
  'echo "tty.onlcr=$(stty -a | grep -o -- "-*onlcr" | head -n 1)"; echo "tty.owner=$(stat -c %u:%g "$(tty)")"';

/** The user and groups the process runs as. */
export const ids: Probe = 'echo "id=$(id)"';

/** The hostname the process sees. */
export const hostname: Probe = 'echo "hostname=$(hostname)"';

/** The process's cgroup in one hierarchy (`cpu`, or '' for the unified one). */
export function cgroup(controller: string): Probe {
  return `echo "cgroup.${controller || 'unified'}=$(grep ':${controller}:' /proc/self/cgroup | cut -d: -f3)"`;
}

/** The process args for a script of probes (and any other shell lines). */
export function script(...lines: string[]): string[] {
  return ['/bin/sh', '-c', lines.join('\n')];
}

/** Observations from a probe script's output: every `key=value` line, in order. */
export function parseProbeOutput(text: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.slice(0, eq).includes(' '))
      found.push([line.slice(0, eq), line.slice(eq + 1).trimEnd()]);
  }
  return found;
}
