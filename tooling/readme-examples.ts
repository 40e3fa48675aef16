import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One runnable example of a package's README. */
export interface ReadmeExample {
  /** The package directory's name: `cgroups`, `cli`. */
  packageName: string;
  /** The file the example is saved as, which also says how it runs: .mjs/.js/.ts with node, .sh with sh. */
  file: string;
  code: string;
  /** Where it is, for a failure's message: `packages/cgroups/README.md:12`. */
  origin: string;
}

const MARKER = /^<!--\s*example:\s*([\w.-]+\.(?:mjs|js|ts|sh))\s*-->\s*$/;

/**
 * The examples of a README: each fenced code block right after a line
 * `<!-- example: NAME.mjs -->` (or .js, .ts, .sh). The marker is invisible on the rendered page,
 * and the code is taken verbatim, so what the README shows is what the test runs.
 */
export function readmeExamples(readme: string, packageName: string, origin: string): ReadmeExample[] {
  const lines = readme.split('\n');
  const examples: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]!);
    if (!marker) continue;
    const fence = /^(`{3,})\w*\s*$/.exec(lines[i + 1] ?? '');
    if (!fence)
      throw new Error(`${origin}:${i + 1}: an example marker must be followed by a fenced code block`);
    const end = lines.findIndex((line, j) => j > i + 1 && line.trim() === fence[1]);
    if (end < 0) throw new Error(`${origin}:${i + 2}: the example's code block never ends`);
    examples.push({
      packageName,
      file: marker[1]!,
      code: `${lines.slice(i + 2, end).join('\n')}\n`,
      origin: `${origin}:${i + 3}`,
    });
    i = end;
  }
  return examples;
}

/** The marked examples of every package's README under `packagesDir`. */
export function packageReadmeExamples(packagesDir: string): ReadmeExample[] {
  return readdirSync(packagesDir)
    .sort()
    .flatMap((name) => {
      let readme: string;
      try {
        readme = readFileSync(join(packagesDir, name, 'README.md'), 'utf8');
      } catch {
        return [];
      }
      return readmeExamples(readme, name, `packages/${name}/README.md`);
    });
}
