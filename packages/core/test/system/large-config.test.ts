import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { bundleMaker, corralSync, disposeBundles, type TestBundle } from './bundle.js';
import { runcRun } from './runc.js';

// What Kubernetes and the kernel allow fits through corral-init's protocol: 256 KiB of
// annotations (in the state document hooks read, which goes to corral-init once) and args and
// env up to what execve takes.
const made: TestBundle[] = [];
afterEach(() => disposeBundles(made));
const bundleFor = bundleMaker(made);

// Kubernetes' limit on a pod's annotations, all keys and values together.
const ANNOTATIONS_LIMIT = 256 * 1024;

describe('a large config', () => {
  it("with 256 KiB of annotations reaches the container's hooks whole", () => {
    const annotations: Record<string, string> = {};
    for (let i = 0, size = 0; size + 1100 < ANNOTATIONS_LIMIT; i++, size += 1100) {
      annotations[`example.com/a${String(i).padStart(5, '0')}`] = 'x'.repeat(1080);
    }
    const bundle = bundleFor(['true']);
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.annotations = annotations;
    // Run before pivot_root: the host's sh writes into the bundle.
    spec.hooks = {
      createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${join(bundle.path, 'state.json')}`] }],
    };
    bundle.writeConfig(spec);
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const state = JSON.parse(readFileSync(join(bundle.path, 'state.json'), 'utf8'));
    expect(state.annotations).toEqual(annotations);
    expect(state.status).toBe('creating');
  });

  it('with args and env near what execve takes runs, as under runc', () => {
    // Two MiB less a margin for the pointers and the rest of the stack's first page; each string
    // under the kernel's 128 KiB per-argument limit.
    const env = Array.from({ length: 14 }, (_, i) => `BIG${i}=${'e'.repeat(100 * 1024)}`);
    const args = [
      'sh',
      '-c',
      'echo "$#" "$(expr length "$1")"; env | grep -c ^BIG',
      'sh',
      ...Array.from({ length: 4 }, () => 'a'.repeat(100 * 1024)),
    ];
    const [ofCorral, ofRunc] = [0, 1].map(() =>
      bundleFor(args, (spec) => {
        spec.process!.env = ['PATH=/bin', ...env];
      }),
    ) as [TestBundle, TestBundle];
    const result = corralSync(ofCorral, 'run', '--bundle', ofCorral.path, ofCorral.id);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`4 ${100 * 1024}\n14\n`);
    expect(runcRun(ofRunc).stdout).toBe(result.stdout);
  });
});
