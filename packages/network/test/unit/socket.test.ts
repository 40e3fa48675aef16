// The request logic of NetlinkSocket (sequence matching, acks, multipart dumps, retries of
// interrupted dumps, one request at a time), against a peer that answers as the kernel would,
// over a socketpair. The kernel's own answers are covered by the system tests.
import { SeqpacketSocket, seqpacketPair } from '@corral/native';
import { afterEach, describe, expect, it } from 'vitest';

import {
  attr,
  constants,
  decodeMessages,
  encodeAttributes,
  encodeMessage,
  NetlinkError,
  type NetlinkMessage,
  NetlinkSocket,
} from '../../src/index.js';

const { NLMSG_DONE, NLMSG_ERROR, NLM_F_MULTI, NLM_F_DUMP_INTR, RTM_GETLINK, RTM_NEWLINK } = constants;

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.close();
});

/** A NetlinkSocket and the "kernel" end of its socketpair. */
function pair(): { socket: NetlinkSocket; kernel: SeqpacketSocket } {
  const [a, b] = seqpacketPair();
  const socket = NetlinkSocket.fromDescriptor(a);
  const kernel = new SeqpacketSocket(b);
  open.push(socket, kernel);
  return { socket, kernel };
}

async function nextRequest(kernel: SeqpacketSocket): Promise<NetlinkMessage> {
  const datagram = await kernel.receive();
  const [message] = decodeMessages(datagram!.data);
  return message!;
}

function ack(request: NetlinkMessage, errno: number, kernelMessage?: string): Buffer {
  const status = Buffer.alloc(4);
  status.writeInt32LE(-errno);
  const header = encodeMessage(request, Buffer.alloc(0)).subarray(0, 16);
  header.writeUInt32LE(16 + request.payload.length, 0);
  const tlvs = kernelMessage
    ? encodeAttributes([attr.string(constants.NLMSGERR_ATTR_MSG, kernelMessage)])
    : Buffer.alloc(0);
  const flags = constants.NLM_F_CAPPED | (kernelMessage ? constants.NLM_F_ACK_TLVS : 0);
  return encodeMessage(
    { type: NLMSG_ERROR, flags, seq: request.seq, pid: 0 },
    Buffer.concat([status, header, tlvs]),
  );
}

function part(request: NetlinkMessage, body: string, flags = NLM_F_MULTI): Buffer {
  return encodeMessage({ type: RTM_NEWLINK, flags, seq: request.seq, pid: 0 }, Buffer.from(body));
}

function done(request: NetlinkMessage, status = 0, flags = NLM_F_MULTI): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeInt32LE(status);
  return encodeMessage({ type: NLMSG_DONE, flags, seq: request.seq, pid: 0 }, payload);
}

describe('NetlinkSocket', () => {
  it('asks for an ack and ignores messages of other requests', async () => {
    const { socket, kernel } = pair();
    const pending = socket.request(RTM_NEWLINK, constants.NLM_F_CREATE, Buffer.alloc(16), {});
    const request = await nextRequest(kernel);
    expect(request.flags).toBe(constants.NLM_F_REQUEST | constants.NLM_F_ACK | constants.NLM_F_CREATE);
    await kernel.send(ack({ ...request, seq: request.seq - 1 }, 1));
    await kernel.send(ack(request, 0));
    await expect(pending).resolves.toBeUndefined();
  });

  it('turns an error ack into a NetlinkError with the kernel message and the context', async () => {
    const { socket, kernel } = pair();
    const pending = socket.request(RTM_NEWLINK, 0, Buffer.alloc(16), {
      interface: 'eth0',
      operation: 'set link up',
    });
    await kernel.send(ack(await nextRequest(kernel), 17, 'File exists'));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({
      errno: 17,
      errnoName: 'EEXIST',
      interface: 'eth0',
      kernelMessage: 'File exists',
    });
    expect((error as Error).message).toBe('set link up on eth0: EEXIST (File exists) [RTM_NEWLINK]');
  });

  it('gathers a dump spread over several datagrams until NLMSG_DONE', async () => {
    const { socket, kernel } = pair();
    const pending = socket.dump(RTM_GETLINK, Buffer.alloc(16));
    const request = await nextRequest(kernel);
    expect(request.flags).toBe(constants.NLM_F_REQUEST | constants.NLM_F_DUMP);
    await kernel.send(Buffer.concat([part(request, 'one.'), part(request, 'two.')]));
    await kernel.send(part(request, 'three...'));
    await kernel.send(done(request));
    expect((await pending).map((payload) => payload.toString())).toEqual(['one.', 'two.', 'three...']);
  });

  it('reports a dump that ends in an error', async () => {
    const { socket, kernel } = pair();
    const pending = socket.dump(RTM_GETLINK, Buffer.alloc(16), { operation: 'list links' });
    await kernel.send(done(await nextRequest(kernel), -22));
    await expect(pending).rejects.toMatchObject({ errnoName: 'EINVAL', request: 'RTM_GETLINK' });
  });

  it('starts an interrupted dump again', async () => {
    const { socket, kernel } = pair();
    const pending = socket.dump(RTM_GETLINK, Buffer.alloc(16));
    const first = await nextRequest(kernel);
    await kernel.send(
      Buffer.concat([part(first, 'stale...'), done(first, 0, NLM_F_MULTI | NLM_F_DUMP_INTR)]),
    );
    const second = await nextRequest(kernel);
    expect(second.seq).not.toBe(first.seq);
    await kernel.send(Buffer.concat([part(second, 'fresh...'), done(second)]));
    expect((await pending).map((payload) => payload.toString())).toEqual(['fresh...']);
  });

  it('sends one request at a time, in the order asked', async () => {
    const { socket, kernel } = pair();
    const first = socket.request(RTM_NEWLINK, 0, Buffer.from('first...'), {});
    const second = socket.request(RTM_NEWLINK, 0, Buffer.from('second..'), {});
    const a = await nextRequest(kernel);
    expect(a.payload.toString()).toBe('first...');
    await kernel.send(ack(a, 0));
    const b = await nextRequest(kernel);
    expect(b.payload.toString()).toBe('second..');
    await kernel.send(ack(b, 1));
    await expect(first).resolves.toBeUndefined();
    await expect(second).rejects.toMatchObject({ errnoName: 'EPERM' });
  });
});
