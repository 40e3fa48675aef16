import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { COMMANDS, type CommandName } from '../flags.js';
import { bashCompletion, fishCompletion, zshCompletion } from './completion.js';
import { commandManual, mainManual } from './manual.js';

/**
 * Writes the manual pages (man/corral.8, man/corral-COMMAND.8) and the shell completions
 * (completions/corral.bash, _corral, corral.fish) into the package directory; the build calls
 * it, and the package ships both.
 */
export function writeDocs(packageDir: string, version: string): void {
  const man = join(packageDir, 'man');
  const completions = join(packageDir, 'completions');
  for (const dir of [man, completions]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(join(man, 'corral.8'), mainManual(version));
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    writeFileSync(join(man, `corral-${name}.8`), commandManual(name, version));
  }
  writeFileSync(join(completions, 'corral.bash'), bashCompletion());
  writeFileSync(join(completions, '_corral'), zshCompletion());
  writeFileSync(join(completions, 'corral.fish'), fishCompletion());
}
