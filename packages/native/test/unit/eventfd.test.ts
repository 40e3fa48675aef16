import { writeSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { Eventfd } from '../../src/index.js';

function signal(fd: number, count: bigint): void {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(count);
  writeSync(fd, buffer);
}

describe('Eventfd', () => {
  it('waits on the event loop until the counter is signalled, then resets it', async () => {
    const eventfd = new Eventfd();
    try {
      const pending = eventfd.read();
      let settled = false;
      void pending.then(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(settled).toBe(false);
      signal(eventfd.fd, 2n);
      signal(eventfd.fd, 3n);
      expect(await pending).toBe(5n);
      signal(eventfd.fd, 1n);
      expect(await eventfd.read()).toBe(1n);
    } finally {
      eventfd.close();
    }
  });

  it('resolves a pending read with null on close', async () => {
    const eventfd = new Eventfd();
    const pending = eventfd.read();
    eventfd.close();
    expect(await pending).toBeNull();
  });
});
