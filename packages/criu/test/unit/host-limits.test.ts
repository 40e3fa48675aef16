import { describe, expect, it } from 'vitest';

import { LAZY_SERVER_PIPE_BYTES, lazyDumpObstacle } from '../../src/host-limits.js';

function host(pipeMaxSize: number, capEff: string) {
  const files: Record<string, string> = {
    '/proc/sys/fs/pipe-max-size': `${pipeMaxSize}\n`,
    '/proc/self/status': `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\nCapBnd:\t${capEff}\n`,
  };
  return { readFile: (path: string) => files[path] ?? '' };
}

const ALL_CAPS = '000001ffffffffff';
const WITHOUT_SYS_RESOURCE = '000001fffeffffff';

describe('lazy dump pipes', () => {
  it('allows a lazy dump when the pipe limit is large enough, or CAP_SYS_RESOURCE lifts it', () => {
    expect(lazyDumpObstacle(host(LAZY_SERVER_PIPE_BYTES, WITHOUT_SYS_RESOURCE))).toBeUndefined();
    expect(lazyDumpObstacle(host(1048576, ALL_CAPS))).toBeUndefined();
  });

  it('names the sysctl to raise when neither holds', () => {
    expect(lazyDumpObstacle(host(1048576, WITHOUT_SYS_RESOURCE))).toBe(
      'a lazy dump serves memory through 4194304-byte pipes, but fs.pipe-max-size is 1048576 and this ' +
        'process lacks CAP_SYS_RESOURCE to exceed it: raise it with `sysctl -w fs.pipe-max-size=4194304`',
    );
  });
});
