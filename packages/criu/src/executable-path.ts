import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * The file a command name runs, found on PATH as execvp finds it (a path with a slash is used
 * as it is); throws ENOENT, as a failed exec would, when there is none.
 */
export function executablePath(binary: string): string {
  if (isAbsolute(binary) || binary.includes('/')) return binary;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir || '.', binary);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not there: the next directory.
    }
  }
  throw Object.assign(new Error(`${binary}: not found on PATH`), { code: 'ENOENT' });
}
