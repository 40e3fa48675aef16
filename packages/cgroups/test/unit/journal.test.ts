import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import type { ControllerWriter } from '../../src/controller.js';
import { CgroupError, writeResources } from '../../src/index.js';

// Plain files in a temporary directory stand in for cgroup files: this tests the journal's
// bookkeeping (what is restored, in which order), not kernel behaviour.
describe('writeResources rollback', () => {
  const dirs: Array<{ remove: () => void }> = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.remove();
  });

  it('restores every earlier write, newest first, when a later one fails', () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    writeFileSync(join(dir.path, 'a'), 'old-a\n');
    writeFileSync(join(dir.path, 'b'), 'old-b\n');
    const writer: ControllerWriter = {
      wants: () => 'linux.resources.pids',
      set(files) {
        files.write('a', 'new-a');
        files.write('b', 'new-b');
        files.write('missing/c', 'x');
      },
    };
    const error = (() => {
      try {
        writeResources({ pids: { limit: 1 } }, [{ dir: dir.path, writer }]);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CgroupError);
    expect((error as CgroupError).path).toBe(join(dir.path, 'missing/c'));
    expect(readFileSync(join(dir.path, 'a'), 'utf8')).toBe('old-a');
    expect(readFileSync(join(dir.path, 'b'), 'utf8')).toBe('old-b');
  });

  it('runs no writer when validation or a check fails', () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    let wrote = false;
    const writer: ControllerWriter = {
      wants: () => 'x',
      check: () => {
        throw new CgroupError('NOT_SUPPORTED', 'no');
      },
      set: () => {
        wrote = true;
      },
    };
    expect(() => writeResources({ pids: { limit: -9 } }, [{ dir: dir.path, writer }])).toThrow(/pids.limit/);
    expect(() => writeResources({ pids: { limit: 1 } }, [{ dir: dir.path, writer }])).toThrow(/no/);
    expect(() => writeResources({ pids: { limit: 1 } }, [{ dir: join(dir.path, 'gone'), writer }])).toThrow(
      /apply\(\)/,
    );
    expect(wrote).toBe(false);
  });
});
