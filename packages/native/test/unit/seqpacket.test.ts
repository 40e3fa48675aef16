import { spawn } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Pidfd, SeqpacketSocket, sealedInitPath, seqpacketPair } from '../../src/index.js';

describe('SeqpacketSocket on a real socketpair', () => {
  it('keeps message boundaries and reports end of stream', async () => {
    const [a, b] = seqpacketPair();
    const left = new SeqpacketSocket(a);
    const right = new SeqpacketSocket(b);
    const pending = right.receive();
    await left.send(Buffer.from('one'));
    await left.send(Buffer.from('two, longer'));
    expect((await pending)?.data.toString()).toBe('one');
    expect((await right.receive())?.data.toString()).toBe('two, longer');
    left.close();
    expect(await right.receive()).toBeNull();
    right.close();
  });

  it('passes descriptors with SCM_RIGHTS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-seqpacket-'));
    try {
      writeFileSync(join(dir, 'f'), 'through the socket');
      const [a, b] = seqpacketPair();
      const left = new SeqpacketSocket(a);
      const right = new SeqpacketSocket(b);
      const file = openSync(join(dir, 'f'), 'r');
      await left.send(Buffer.from('fd'), [file]);
      closeSync(file);
      const passed = (await right.receive())?.fds ?? [];
      expect(passed).toHaveLength(1);
      expect(readFileSync(passed[0] as number, 'utf8')).toBe('through the socket');
      closeSync(passed[0] as number);
      left.close();
      right.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits for room when the peer is not reading', async () => {
    const [a, b] = seqpacketPair();
    const left = new SeqpacketSocket(a);
    const right = new SeqpacketSocket(b);
    const big = Buffer.alloc(64 * 1024, 7);
    const sends = Array.from({ length: 32 }, () => left.send(big));
    let received = 0;
    while (received < 32) {
      const message = await right.receive();
      expect(message?.data.length).toBe(big.length);
      received++;
    }
    await Promise.all(sends);
    left.close();
    right.close();
  });
});

describe('Pidfd', () => {
  it('signals the process it was opened for', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_, signal) => resolve(signal)),
    );
    const pidfd = Pidfd.open(child.pid!);
    pidfd.signal(constants.signals.SIGTERM);
    expect(await exited).toBe('SIGTERM');
    pidfd.close();
  });
});

describe('sealedInitPath', () => {
  it('runs corral-init from a sealed in-memory copy that cannot be written', () => {
    const path = sealedInitPath();
    expect(readlinkSync(path)).toMatch(/^\/memfd:corral-init/);
    let refused: unknown;
    try {
      const fd = openSync(path, 'r+');
      try {
        writeSync(fd, 'overwrite');
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      refused = error;
    }
    expect((refused as NodeJS.ErrnoException)?.code).toBe('EPERM');
    expect(readFileSync(path).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  });
});
