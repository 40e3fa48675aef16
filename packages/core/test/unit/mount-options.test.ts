import { describe, expect, it } from 'vitest';

import { parseMountOptions } from '../../src/index.js';

describe('parseMountOptions', () => {
  it('sorts options into attributes, propagation and filesystem options', () => {
    expect(
      parseMountOptions(['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k', 'rslave'], 'mounts[0]'),
    ).toEqual({
      bind: false,
      recursiveBind: false,
      attrSet: 0x2n | 0x8n | 0x4n,
      attrClear: 0n,
      recursiveSet: 0n,
      recursiveClear: 0n,
      propagation: 1 << 19,
      copyUp: false,
      fsOptions: ['mode=1777', 'size=65536k'],
      tryOptions: [],
    });
  });

  it('lets a later option undo an earlier one', () => {
    const parsed = parseMountOptions(['ro', 'rw', 'nosuid', 'suid'], 'mounts[0]');
    expect(parsed.attrSet).toBe(0n);
    expect(parsed.attrClear).toBe(0x1n | 0x2n);
  });

  it('replaces the whole atime field', () => {
    const parsed = parseMountOptions(['noatime', 'strictatime'], 'mounts[0]');
    expect(parsed.attrSet).toBe(0x20n);
    expect(parsed.attrClear).toBe(0x70n);
  });

  it('knows recursive binds and recursive attributes', () => {
    const parsed = parseMountOptions(['rbind', 'rro', 'mode=755'], 'mounts[3]');
    expect(parsed).toMatchObject({
      bind: true,
      recursiveBind: true,
      attrSet: 0n,
      recursiveSet: 0x1n,
      fsOptions: [],
    });
  });

  it('knows tmpcopyup, idmap and ridmap, and the mount flags only some filesystems take', () => {
    expect(parseMountOptions(['tmpcopyup', 'acl', 'sync', 'mode=700'], 'mounts[0]')).toMatchObject({
      copyUp: true,
      fsOptions: ['sync', 'mode=700'],
      tryOptions: ['acl'],
    });
    expect(parseMountOptions(['rbind', 'ridmap'], 'mounts[0]').idmap).toBe('ridmap');
    // Without MS_RELATIME or MS_STRICTATIME mount(2) gives relatime: the field is replaced.
    expect(parseMountOptions(['noatime', 'nostrictatime'], 'mounts[0]')).toMatchObject({
      attrSet: 0n,
      attrClear: 0x70n,
    });
    expect(parseMountOptions(['rnorelatime'], 'mounts[0]').recursiveClear).toBe(0x70n);
  });

  it('passes superblock flags to the filesystem', () => {
    expect(parseMountOptions(['sync', 'defaults'], 'mounts[0]').fsOptions).toEqual(['sync']);
  });

  it('refuses an empty option, naming it', () => {
    expect(() => parseMountOptions(['nosuid', ''], 'mounts[4]')).toThrow(
      /mounts\[4\]\.options\[1\]: is empty/,
    );
  });
});
