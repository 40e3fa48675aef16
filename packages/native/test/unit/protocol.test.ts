import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqpacketSocket, seqpacketPair } from '../../src/index.js';
import * as protocol from '../../src/protocol/protocol.js';
import {
  decodeErrorReport,
  decodeFrame,
  decodePlan,
  encodeErrorReport,
  encodeFrame,
  encodeMessage,
  encodePlan,
  type InitOp,
  MAX_DATAGRAM,
  MAX_MESSAGE,
  MessageType,
  OPS,
} from '../../src/protocol/protocol.js';
import { loadGoldenVectors } from '../golden/vectors.js';

const vectors = loadGoldenVectors();
const packageDir = fileURLToPath(new URL('../..', import.meta.url));

describe('protocol.ts against the golden vectors', () => {
  it.each(
    vectors.map((v) => [v.name, v] as const),
  )('%s encodes to the golden bytes and back', (_, vector) => {
    expect(encodePlan(vector.ops).toString('hex')).toBe(vector.bytes.toString('hex'));
    expect(decodePlan(vector.bytes)).toEqual(vector.ops);
  });

  it('matches a vector worked out by hand', () => {
    // version 2, one op: code 48 (umask), reserved 0, length 12, mask 0o22.
    const expected = '02000000' + '01000000' + '3000' + '0000' + '0c000000' + '12000000';
    expect(encodePlan([{ op: 'umask', mask: 0o22 }]).toString('hex')).toBe(expected);
  });

  it('encodes plans larger than its first buffer, whatever field crosses the boundary', () => {
    const ops = vectors.flatMap((v) => v.ops);
    // A chdir of every length from 1 to 64 shifts every later field across each growth point.
    for (let shift = 1; shift <= 64; shift++) {
      const plan: InitOp[] = [{ op: 'chdir', path: 'x'.repeat(shift), mode: 0 }];
      while (plan.length < 400) plan.push(...ops);
      const opByOp = Buffer.concat(plan.map((op) => encodePlan([op]).subarray(8)));
      const bytes = encodePlan(plan);
      expect(bytes.subarray(8).equals(opByOp)).toBe(true);
      expect(decodePlan(bytes)).toEqual(plan);
    }
  });

  it('covers every op', () => {
    const used = new Set(vectors.flatMap((v) => v.ops.map((op) => op.op)));
    expect([...used].sort()).toEqual(Object.keys(OPS).sort());
  });
});

describe('protocol.ts refuses what C would misread', () => {
  it('refuses strings with NUL bytes', () => {
    expect(() => encodePlan([{ op: 'chdir', path: '/a\0b', mode: 0 }])).toThrow(/NUL/);
  });
  it('refuses numbers out of range, naming the field', () => {
    expect(() => encodePlan([{ op: 'setuid', uid: -1 }])).toThrow(/setuid\.uid/);
    expect(() => encodePlan([{ op: 'umask', mask: 1.5 }])).toThrow(/umask\.mask/);
    expect(() => encodePlan([{ op: 'clone', flags: 1n << 64n }])).toThrow(/clone\.flags/);
  });
  it('refuses unknown ops', () => {
    expect(() => encodePlan([{ op: 'format-disk' } as unknown as InitOp])).toThrow(/unknown op/);
  });
  it('refuses truncated and padded plans', () => {
    const bytes = vectors[1]!.bytes;
    expect(() => decodePlan(bytes.subarray(0, bytes.length - 1))).toThrow();
    expect(() => decodePlan(Buffer.concat([bytes, Buffer.alloc(1)]))).toThrow(/trailing/);
  });
  it('frames and error reports round-trip', () => {
    const report = { opIndex: 7, errno: 2, syscall: 'openat2', path: '/etc/x', message: '' };
    const frame = encodeFrame(5, encodeErrorReport(report));
    const { type, payload } = decodeFrame(frame);
    expect(type).toBe(5);
    expect(decodeErrorReport(payload)).toEqual(report);
    expect(decodeErrorReport(encodeErrorReport({ ...report, opIndex: -1 })).opIndex).toBe(-1);
    expect(() => decodeFrame(frame.subarray(0, frame.length - 1))).toThrow(/length/);
  });
});

/** The dump format plan-check prints: the op code, then each field. */
function dump(ops: InitOp[]): string {
  return ops
    .map((op) => {
      const values = op as unknown as Record<string, unknown>;
      const parts = [String(OPS[op.op].code)];
      for (const [field, kind] of OPS[op.op].fields) {
        const value = values[field];
        if (kind === 'str') parts.push(`"${value}"`);
        else if (kind === 'strs') parts.push(`[${(value as string[]).map((s) => `"${s}"`).join(',')}]`);
        else if (kind === 'u32s') parts.push(`[${(value as number[]).join(',')}]`);
        else parts.push(String(value));
      }
      return `${parts.join(' ')}\n`;
    })
    .join('');
}

describe('corral-init decoder (C) against the golden vectors', () => {
  let dir: string;
  let checker: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-plan-check-'));
    checker = join(dir, 'plan-check');
    execFileSync('cc', [
      '-std=gnu11',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-g',
      '-fsanitize=address,undefined',
      '-fno-sanitize-recover=all',
      '-I',
      join(packageDir, 'src/protocol'),
      '-I',
      join(packageDir, 'src/init'),
      join(packageDir, 'test/c/plan-check.c'),
      join(packageDir, 'src/init/decode.c'),
      join(packageDir, 'src/init/channel.c'),
      '-o',
      checker,
    ]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(vectors.map((v) => [v.name, v] as const))('%s decodes to the same ops', (_, vector) => {
    const result = spawnSync(checker, ['dump'], { input: vector.bytes, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(dump(vector.ops));
  });

  it('refuses a plan of another version and an op with trailing bytes', () => {
    const bytes = Buffer.from(vectors[0]!.bytes);
    bytes.writeUInt32LE(protocol.PROTOCOL_VERSION + 1, 0);
    expect(spawnSync(checker, ['dump'], { input: bytes }).status).toBe(2);
    const padded = Buffer.from(vectors[0]!.bytes);
    padded.writeUInt32LE(16, 12); // op length claims 4 more bytes than the fields use
    const withTail = Buffer.concat([padded, Buffer.alloc(4)]);
    expect(spawnSync(checker, ['dump'], { input: withTail, encoding: 'utf8' }).stdout).toBe(
      'invalid at op 0\n',
    );
  });

  it('survives mutated plans under AddressSanitizer and UBSan', () => {
    const result = spawnSync(checker, ['fuzz', '20000'], { input: vectors[1]!.bytes, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^accepted \d+ of 20000\n$/);
  });

  /** Runs `plan-check recv` on a socketpair, sends it these datagrams, returns what it printed. */
  async function receiveInChecker(datagrams: Buffer[]): Promise<string> {
    const [ours, theirs] = seqpacketPair();
    const child = spawn(checker, ['recv'], { stdio: [theirs, 'pipe', 'pipe'] });
    closeSync(theirs);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.stderr!.on('data', (d) => {
      out += d;
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    const socket = new SeqpacketSocket(ours);
    for (const datagram of datagrams) await socket.send(datagram);
    socket.close();
    await exited;
    return out;
  }

  it('reassembles a message of many datagrams, as large args and env need', async () => {
    // 300 KiB of environment: more than a datagram, or a socket buffer, can hold.
    const env = Array.from({ length: 300 }, (_, i) => `V${i}=${'x'.repeat(1024)}`);
    const ops: InitOp[] = [{ op: 'exec', args: ['sh'], env }];
    const payload = encodePlan(ops);
    const datagrams = encodeMessage(MessageType.plan, payload);
    expect(datagrams.length).toBe(Math.ceil((payload.length + 8) / MAX_DATAGRAM));
    expect(await receiveInChecker(datagrams)).toBe(`type 1, ${payload.length} bytes\n${dump(ops)}`);
  });

  it('refuses a message whose datagrams do not add up to its length', async () => {
    const datagrams = encodeMessage(MessageType.plan, Buffer.alloc(3 * MAX_DATAGRAM));
    // One datagram short: the sender closed before the message was complete.
    expect(await receiveInChecker(datagrams.slice(0, -1))).toBe('refused EPIPE\n');
    // A middle datagram cut short.
    const cut = [datagrams[0]!, datagrams[1]!.subarray(1), ...datagrams.slice(2)];
    expect(await receiveInChecker(cut)).toBe('refused EBADMSG\n');
    // A length beyond the limit.
    const huge = Buffer.from(datagrams[0]!);
    huge.writeUInt32LE(MAX_MESSAGE + 1, 4);
    expect(await receiveInChecker([huge])).toBe('refused EBADMSG\n');
  });
});

describe('encodeMessage', () => {
  it('cuts a payload into full datagrams and a last one, and keeps small messages whole', () => {
    const payload = Buffer.alloc(2 * MAX_DATAGRAM, 7);
    const datagrams = encodeMessage(9, payload);
    expect(datagrams.map((d) => d.length)).toEqual([MAX_DATAGRAM, MAX_DATAGRAM, 8]);
    expect(datagrams[0]!.readUInt32LE(0)).toBe(9);
    expect(datagrams[0]!.readUInt32LE(4)).toBe(payload.length);
    expect(Buffer.concat(datagrams).subarray(8).equals(payload)).toBe(true);
    expect(encodeMessage(4)).toEqual([encodeFrame(4)]);
    expect(() => encodeFrame(4, payload)).toThrow(/more than one datagram/);
    expect(() => encodeMessage(1, Buffer.alloc(MAX_MESSAGE + 1))).toThrow(/exceeds/);
  });
});

describe('the GO message', () => {
  it('carries the state document once, cut around its status', () => {
    // count 2, then "a" (length 2 with its NUL) and "" (length 1).
    expect(protocol.encodeGo({ before: 'a', after: '' }).toString('hex')).toBe(
      '02000000' + '02000000' + '6100' + '01000000' + '00',
    );
    expect(protocol.encodeGo().toString('hex')).toBe('00000000');
  });
});
