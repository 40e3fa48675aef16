import { describe, expect, it } from 'vitest';

import { annotationProperties, type CgroupError, parseVariantText } from '../../src/index.js';

const parsed = (text: string) => {
  const value = parseVariantText(text);
  return [value.signature, value.value];
};

describe('GVariant text, as runc reads org.systemd.property annotations', () => {
  it('types bare values as runc does: int32, double, string, boolean', () => {
    expect(parsed('30')).toEqual(['i', 30]);
    expect(parsed('-7')).toEqual(['i', -7]);
    expect(parsed('1.5')).toEqual(['d', 1.5]);
    expect(parsed("'inactive-or-failed'")).toEqual(['s', 'inactive-or-failed']);
    expect(parsed('"a \\"quoted\\" \\u00e9"')).toEqual(['s', 'a "quoted" é']);
    expect(parsed('true')).toEqual(['b', true]);
    expect(parsed('false')).toEqual(['b', false]);
  });

  it('takes type words and @signatures', () => {
    expect(parsed('uint64 18446744073709551615')).toEqual(['t', 2n ** 64n - 1n]);
    expect(parsed('int64 -5')).toEqual(['x', -5n]);
    expect(parsed('uint32 0x10')).toEqual(['u', 16]);
    expect(parsed('byte 017')).toEqual(['y', 15]);
    expect(parsed('@as []')).toEqual(['as', []]);
    expect(parsed('@t 5')).toEqual(['t', 5n]);
    expect(parsed('objectpath "/a/b"')).toEqual(['o', '/a/b']);
  });

  it('infers arrays from their items, and variants', () => {
    expect(parsed("['a.service', 'b.service']")).toEqual(['as', ['a.service', 'b.service']]);
    expect(parsed('[1, 2]')).toEqual(['ai', [1, 2]]);
    expect(parsed('[uint64 1, 2]')).toEqual(['at', [1n, 2n]]);
    const [sig, value] = parsed('<int32 5>');
    expect(sig).toBe('v');
    expect(value).toMatchObject({ signature: 'i', value: 5 });
  });

  it('refuses what is not a value', () => {
    expect(() => parseVariantText('[]')).toThrow(/empty array/);
    expect(() => parseVariantText("[1, 'a']")).toThrow(/mixes types/);
    expect(() => parseVariantText('uint8 1')).toThrow(/unrecognized type "uint8"/);
    expect(() => parseVariantText('300 400')).toThrow(/after the value/);
    expect(() => parseVariantText('byte 300')).toThrow(/out of range/);
    expect(() => parseVariantText("'open")).toThrow(/unterminated/);
    expect(() => parseVariantText('12abc')).toThrow(/bad number/);
  });
});

describe('annotationProperties', () => {
  it('passes org.systemd.property.* through, converting NameSec to NameUSec', () => {
    const props = annotationProperties({
      'org.systemd.property.TimeoutStopSec': '30',
      'org.systemd.property.CollectMode': "'inactive-or-failed'",
      'org.systemd.property.RuntimeMaxUSec': 'uint64 5000000',
      'org.systemd.property.After': "['network.target']",
      'io.kubernetes.other': 'x',
    });
    expect(props.map((p) => [p.name, p.value.signature, p.value.value])).toEqual([
      ['TimeoutStopUSec', 't', 30_000_000n],
      ['CollectMode', 's', 'inactive-or-failed'],
      ['RuntimeMaxUSec', 't', 5_000_000n],
      ['After', 'as', ['network.target']],
    ]);
    expect(props[0]!.field).toBe('annotations["org.systemd.property.TimeoutStopSec"]');
  });

  it('refuses bad names and values, naming the annotation', () => {
    const fail = (annotations: Record<string, string>) => {
      try {
        annotationProperties(annotations);
      } catch (error) {
        return error as CgroupError;
      }
      throw new Error('accepted');
    };
    const name = fail({ 'org.systemd.property.Ab': '1' });
    expect(name.field).toBe('annotations["org.systemd.property.Ab"]');
    expect(name.message).toMatch(/not a systemd property name/);
    expect(fail({ 'org.systemd.property.Memory_Max': '1' }).message).toMatch(/not a systemd property name/);
    expect(fail({ 'org.systemd.property.CollectMode': 'inactive' }).message).toMatch(
      /^annotations\["org\.systemd\.property\.CollectMode"\]: cannot parse "inactive" as a D-Bus value/,
    );
    expect(fail({ 'org.systemd.property.TimeoutStopSec': "'x'" }).message).toMatch(/not a number/);
  });
});
