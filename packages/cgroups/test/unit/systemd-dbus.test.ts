import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DBusConnection, DBusError, socketPathOf } from '../../src/systemd/dbus/connection.js';
import { decodeMessage, encodeMessage, MESSAGE_TYPE, type Message } from '../../src/systemd/dbus/message.js';
import { parseSignature, Variant } from '../../src/systemd/dbus/wire.js';
import { type PrivateBus, startPrivateBus } from './private-bus.js';

// A private bus from the reference daemon: everything our client writes goes through its
// validation, and busctl (systemd's own sd-bus) and dbus-send (libdbus) talk to us over it.
let bus: PrivateBus;
let dir: string;
let address: string;

beforeAll(async () => {
  bus = await startPrivateBus();
  ({ dir, address } = bus);
});

afterAll(() => bus?.stop());

const SERVICE = 'org.corral.Test';

/** A service on the private bus that echoes each call's body and signature back. */
async function echoService(): Promise<DBusConnection> {
  const service = await DBusConnection.open(address);
  service.onMethodCall((call: Message) => service.reply(call, call.signature ?? '', call.body ?? []));
  await service.call({
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus',
    member: 'RequestName',
    signature: 'su',
    body: [SERVICE, 4],
  });
  return service;
}

/** Runs a client without blocking the event loop, where the service answers it. */
const run = (command: string, args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
    execFile(command, args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );

describe('the D-Bus wire format', () => {
  it('parses signatures and refuses broken ones', () => {
    expect(parseSignature('a(sv)').length).toBe(1);
    expect(parseSignature('ssa(sv)a(sa(sv))').length).toBe(4);
    expect(parseSignature('a{sv}')[0]).toMatchObject({ kind: 'dict' });
    for (const bad of ['a', '(', '()', 'a{vs}', 'z', '(s']) expect(() => parseSignature(bad), bad).toThrow();
  });

  it('encodes a method call as the specification lays it out', () => {
    const bytes = encodeMessage({
      type: MESSAGE_TYPE.methodCall,
      serial: 7,
      path: '/a',
      member: 'M',
      signature: 'ut',
      body: [1, 2n ** 64n - 1n],
    });
    // Fixed header: 'l', type 1, flags 0, version 1, body length 16 (u32 + pad + u64), serial 7.
    expect([...bytes.subarray(0, 12)]).toEqual([0x6c, 1, 0, 1, 16, 0, 0, 0, 7, 0, 0, 0]);
    // The body starts 8-aligned and holds 1, four bytes of padding, then 2^64-1.
    const body = bytes.subarray(bytes.length - 16);
    expect([...body]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
    expect(bytes.length % 8).toBe(0);
    const decoded = decodeMessage(bytes);
    expect(decoded).toMatchObject({
      serial: 7,
      path: '/a',
      member: 'M',
      signature: 'ut',
      body: [1, 2n ** 64n - 1n],
    });
  });

  it('refuses values that do not fit their type', () => {
    const encode = (signature: string, body: unknown[]) => () =>
      encodeMessage({ type: MESSAGE_TYPE.methodCall, serial: 1, path: '/', member: 'M', signature, body });
    expect(encode('y', [256])).toThrow(/does not fit/);
    expect(encode('u', [-1])).toThrow(/does not fit/);
    expect(encode('t', [2n ** 64n])).toThrow(/does not fit/);
    expect(encode('s', ['a\0b'])).toThrow(/NUL/);
    expect(encode('o', ['no-slash'])).toThrow(/object path/);
    expect(encode('v', ['bare'])).toThrow(/Variant/);
  });

  it('reads bus addresses', () => {
    expect(socketPathOf('unix:path=/run/dbus/system_bus_socket')).toBe('/run/dbus/system_bus_socket');
    expect(socketPathOf('tcp:host=x;unix:abstract=/tmp/dbus-1,guid=00')).toBe('\0/tmp/dbus-1');
    expect(() => socketPathOf('tcp:host=x,port=1')).toThrow(/no unix socket/);
  });
});

describe('a connection to the real dbus-daemon', () => {
  it('says Hello and gets a unique name', async () => {
    const bus = await DBusConnection.open(address);
    try {
      expect(bus.uniqueName).toMatch(/^:1\.\d+$/);
      const [id] = await bus.call({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'GetId',
      });
      expect(id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      bus.close();
    }
  });

  it('round-trips the types StartTransientUnit needs through the daemon', async () => {
    const service = await echoService();
    const client = await DBusConnection.open(address);
    try {
      const properties = [
        ['Description', new Variant('s', 'corral container x')],
        ['PIDs', new Variant('au', [1234, 4294967295])],
        ['Delegate', new Variant('b', true)],
        ['MemoryMax', new Variant('t', 2n ** 64n - 1n)],
        ['AllowedCPUs', new Variant('ay', Buffer.from([0x0f, 0x01]))],
        ['DeviceAllow', new Variant('a(ss)', [['/dev/char/1:3', 'rwm']])],
        ['Empty', new Variant('a(ss)', [])],
        ['Nice', new Variant('i', -20)],
        ['Weight', new Variant('d', 0.5)],
        ['Nested', new Variant('v', new Variant('x', -(2n ** 63n)))],
        ['Map', new Variant('a{sv}', [['k', new Variant('q', 65535)]])],
      ];
      const body = [
        'corral-x.scope',
        'replace',
        properties,
        [['aux.scope', [['Slice', new Variant('s', '-.slice')]]]],
      ];
      const echoed = await client.call({
        destination: SERVICE,
        path: '/org/corral/Test',
        interface: SERVICE,
        member: 'Echo',
        signature: 'ssa(sv)a(sa(sv))',
        body,
      });
      expect(echoed).toEqual(body);
    } finally {
      client.close();
      service.close();
    }
  });

  it('speaks with sd-bus (busctl) and libdbus (dbus-send)', async () => {
    const service = await echoService();
    try {
      const busctl = await run('busctl', [
        `--address=${address}`,
        'call',
        SERVICE,
        '/org/corral/Test',
        SERVICE,
        'Echo',
        'sa(sv)t',
        'x',
        '2',
        'MemoryMax',
        't',
        '18446744073709551615',
        'PIDs',
        'au',
        '2',
        '1',
        '2',
        '42',
      ]);
      expect(busctl.stderr).toBe('');
      expect(busctl.stdout.trim()).toBe(
        'sa(sv)t "x" 2 "MemoryMax" t 18446744073709551615 "PIDs" au 2 1 2 42',
      );
      const send = await run('dbus-send', [
        `--bus=${address}`,
        '--print-reply',
        `--dest=${SERVICE}`,
        '/org/corral/Test',
        `${SERVICE}.Echo`,
        'string:hello',
        'array:uint32:1,2',
        'dict:string:int32:a,1',
      ]);
      expect(send.status, send.stderr).toBe(0);
      expect(send.stdout).toMatch(/string "hello"/);
      expect(send.stdout).toMatch(/uint32 2/);
      expect(send.stdout).toMatch(/dict entry\(\s*string "a"\s*int32 1\s*\)/);
    } finally {
      service.close();
    }
  });

  it('turns an error reply into a DBusError with its name', async () => {
    const bus = await DBusConnection.open(address);
    try {
      const failing = bus.call({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'NoSuchMethod',
      });
      await expect(failing).rejects.toBeInstanceOf(DBusError);
      await expect(failing).rejects.toMatchObject({ type: 'org.freedesktop.DBus.Error.UnknownMethod' });
    } finally {
      bus.close();
    }
  });

  it('delivers the signals a match rule asks for, and no others', async () => {
    const sender = await DBusConnection.open(address);
    const listener = await DBusConnection.open(address);
    try {
      await listener.addMatch(`type='signal',sender='${sender.uniqueName}',member='JobRemoved'`);
      const heard = new Promise<Message>((resolve) => listener.onSignal(resolve));
      sender.emit({
        path: '/org/x',
        interface: 'org.x.Manager',
        member: 'Other',
        signature: 's',
        body: ['no'],
      });
      sender.emit({
        path: '/org/x',
        interface: 'org.x.Manager',
        member: 'JobRemoved',
        signature: 'uoss',
        body: [7, '/org/x/job/7', 'corral-x.scope', 'done'],
      });
      const signal = await heard;
      expect(signal.member).toBe('JobRemoved');
      expect(signal.body).toEqual([7, '/org/x/job/7', 'corral-x.scope', 'done']);
    } finally {
      sender.close();
      listener.close();
    }
  });

  it('fails pending calls when the connection goes, and refuses a bus that is not there', async () => {
    await expect(DBusConnection.open(`unix:path=${join(dir, 'nothing')}`)).rejects.toThrow(
      /cannot connect to the D-Bus bus at .*nothing: ENOENT/,
    );
    const system = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${join(dir, 'no-system-bus')}`;
    try {
      await expect(DBusConnection.open()).rejects.toThrow(
        /cannot connect to the D-Bus system bus at .*no-system-bus: ENOENT/,
      );
    } finally {
      if (system === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
      else process.env.DBUS_SYSTEM_BUS_ADDRESS = system;
    }
    const bus = await DBusConnection.open(address);
    bus.close();
    await expect(
      bus.call({
        destination: 'org.freedesktop.DBus',
        path: '/',
        interface: 'org.freedesktop.DBus',
        member: 'GetId',
      }),
    ).rejects.toMatchObject({ type: 'org.freedesktop.DBus.Error.Disconnected' });
  });
});
