import { constants } from 'node:os';

import type { InitErrorReport } from '@corral/native';

/** The PATH that args[0] is looked up in: the process's own (its last PATH entry), as runc's. */
export function searchPath(env: readonly string[] | undefined): string {
  const entry = (env ?? []).findLast((e) => e.startsWith('PATH='));
  return entry ? entry.slice('PATH='.length) : '';
}

/**
 * corral-init's report of a failed resolveExec in the words of Go's exec.LookPath, which runc
 * prints and podman and containerd match to exit 127 (not found) or 126 (not executable):
 * `exec: "/nope": stat /nope: no such file or directory`.
 */
export function execLookupText(file: string, report: InitErrorReport): string {
  const name = `exec: ${JSON.stringify(file)}`;
  if (report.syscall === 'lookpath') {
    return report.errno === constants.errno.ENOENT
      ? `${name}: executable file not found in $PATH`
      : `${name}: cannot run executable found relative to current directory`;
  }
  // Go's errno texts are the C library's with a lower-case first letter.
  const text = report.message
    ? report.message[0]!.toLowerCase() + report.message.slice(1)
    : `errno ${report.errno}`;
  return report.syscall === 'stat' ? `${name}: stat ${file}: ${text}` : `${name}: ${text}`;
}
