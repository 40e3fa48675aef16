import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import type { HookKind } from '../../src/spec/types.js';
import { bundleMaker, corralSync, disposeBundles, type TestBundle } from './bundle.js';
import { runcRun } from './runc.js';

// Hooks as runc runs them, the same bundle under each runtime: where they run, with what
// environment and state, and the words of their failures.
const made: TestBundle[] = [];
afterEach(() => disposeBundles(made));
const bundleFor = bundleMaker(made);

// Writes what it got (state, cwd, env) into the directory $2, named by $1; "fail" fails.
const HOOK = `#!/bin/sh
cat > "$2/$1.state"
pwd > "$2/$1.cwd"
env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | sort > "$2/$1.env"
[ "$1" = fail ] && { echo out-text; echo err-text >&2; exit 3; }
exit 0
`;

type Hooks = Partial<Record<HookKind, Array<{ name: string; env?: string[] }>>>;

/**
 * A bundle with these hooks. The script is at BUNDLE/hook.sh for the hooks that run before
 * pivot_root and at /hook.sh in the rootfs for startContainer; each writes into its own
 * directory, BUNDLE/out or /out.
 */
function hookBundle(hooks: Hooks): TestBundle {
  const bundle = bundleFor(['true'], (spec) => {
    spec.process!.env = ['PATH=/bin', 'FOO=bar'];
    spec.annotations = { 'org.example': 'x' };
  });
  const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8')) as Spec;
  for (const dir of [bundle.path, bundle.rootfs]) {
    writeFileSync(join(dir, 'hook.sh'), HOOK);
    chmodSync(join(dir, 'hook.sh'), 0o755);
    mkdirSync(join(dir, 'out'));
  }
  spec.hooks = {};
  for (const [kind, list] of Object.entries(hooks) as Array<
    [HookKind, Array<{ name: string; env?: string[] }>]
  >) {
    const inside = kind === 'startContainer';
    const path = inside ? '/hook.sh' : join(bundle.path, 'hook.sh');
    const out = inside ? '/out' : join(bundle.path, 'out');
    spec.hooks[kind] = list.map(({ name, env }) => ({
      path,
      args: ['hook.sh', name, out],
      ...(env ? { env } : {}),
    }));
  }
  bundle.writeConfig(spec);
  return bundle;
}

/** What a hook wrote, its bundle's path replaced so that two bundles compare. */
function wrote(bundle: TestBundle, kind: HookKind, name: string, what: 'state' | 'cwd' | 'env'): string {
  const dir = kind === 'startContainer' ? join(bundle.rootfs, 'out') : join(bundle.path, 'out');
  return readFileSync(join(dir, `${name}.${what}`), 'utf8').replaceAll(bundle.path, 'BUNDLE');
}

function runBoth(hooks: Hooks) {
  const ofCorral = hookBundle(hooks);
  const ofRunc = hookBundle(hooks);
  return {
    ofCorral,
    ofRunc,
    corral: corralSync(ofCorral, 'run', '--bundle', ofCorral.path, ofCorral.id),
    runc: runcRun(ofRunc),
  };
}

describe('hooks', () => {
  it('run where runc runs them: runtime hooks in the bundle, createContainer hooks in the rootfs', () => {
    const kinds: HookKind[] = [
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ];
    const { ofCorral, ofRunc, corral } = runBoth(
      Object.fromEntries(kinds.map((kind) => [kind, [{ name: kind, env: ['X=1'] }]])),
    );
    expect(corral.stderr).toBe('');
    for (const kind of kinds) {
      expect(wrote(ofCorral, kind, kind, 'cwd')).toBe(wrote(ofRunc, kind, kind, 'cwd'));
    }
    expect(wrote(ofCorral, 'createContainer', 'createContainer', 'cwd')).toBe('BUNDLE/rootfs\n');
    expect(wrote(ofCorral, 'prestart', 'prestart', 'cwd')).toBe('BUNDLE\n');
  });

  it("give a hook inside the container without an environment of its own the process's", () => {
    const { ofCorral, ofRunc, corral } = runBoth({
      createContainer: [{ name: 'createContainer' }],
      startContainer: [{ name: 'startContainer' }],
    });
    expect(corral.stderr).toBe('');
    expect(wrote(ofCorral, 'startContainer', 'startContainer', 'env')).toBe(
      'FOO=bar\nHOME=/root\nPATH=/bin\n',
    );
    expect(wrote(ofRunc, 'startContainer', 'startContainer', 'env')).toBe(
      wrote(ofCorral, 'startContainer', 'startContainer', 'env'),
    );
    expect(wrote(ofCorral, 'createContainer', 'createContainer', 'env')).toBe(
      wrote(ofRunc, 'createContainer', 'createContainer', 'env'),
    );
  });

  it('give prestart hooks the state document of the spec', () => {
    const { ofCorral, ofRunc } = runBoth({ prestart: [{ name: 'prestart', env: [] }] });
    const ofBoth = [ofCorral, ofRunc].map((bundle) =>
      JSON.parse(wrote(bundle, 'prestart', 'prestart', 'state')),
    );
    const [corral, runc] = ofBoth as [Record<string, unknown>, Record<string, unknown>];
    // The same fields in the same order; only the spec version each follows, the id and the
    // pid differ.
    expect(Object.keys(corral)).toEqual(Object.keys(runc));
    const same = { ociVersion: '', id: '', pid: 0 };
    expect({ ...corral, ...same }).toEqual({ ...runc, ...same });
    expect(corral).toMatchObject({ ociVersion: '1.2.0', status: 'creating', bundle: 'BUNDLE' });
  });

  it("fail in runc's words, with what the hook wrote", () => {
    for (const kind of ['prestart', 'createContainer'] as const) {
      const { corral, runc } = runBoth({
        [kind]: [
          { name: 'fail', env: [] },
          { name: 'second', env: [] },
        ],
      });
      const words = `error running ${kind} hook #0: error running hook: exit status 3, stdout: out-text\n, stderr: err-text\n`;
      expect(corral.status).toBe(1);
      expect(corral.stderr).toBe(`corral: ${words}\n`);
      // Debian's runc 1.1.5 says "error running hook #0"; current runc names the kind.
      expect(JSON.parse(`"${/msg="(.*)"\s*$/m.exec(runc.stderr)![1]}"`)).toContain(
        words.replace(`${kind} hook`, 'hook'),
      );
    }
  });

  it('poststop: each runs even when an earlier one fails, the failure a warning', () => {
    const bundle = hookBundle({
      poststop: [
        { name: 'fail', env: [] },
        { name: 'second', env: [] },
      ],
    });
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(
      /warning: error running poststop hook #0: error running hook: exit status 3/,
    );
    expect(existsSync(join(bundle.path, 'out', 'second.state'))).toBe(true);
  });
});
