import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CgroupManager, SystemdCgroupManager, systemdUnitFor, userBusAddress } from '../../src/index.js';
import { DBusConnection } from '../../src/systemd/dbus/connection.js';
import { hostUidOf, systemdUserConnection } from '../../src/systemd-user.js';
import { type PrivateBus, startPrivateBus } from './private-bus.js';

// How a rootless runtime finds and reaches its user's systemd instance. The instance itself
// (scopes, limits, beside runc) is in the guest's tests: packages/cli/test/vm/rootless-cgroup.

let bus: PrivateBus;
let dir: string;
let address: string;

beforeAll(async () => {
  bus = await startPrivateBus();
  ({ dir, address } = bus);
});

afterAll(() => bus?.stop());

describe("the user's session bus", () => {
  it('is DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus when that socket is there', () => {
    expect(userBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x', XDG_RUNTIME_DIR: dir })).toBe(
      'unix:path=/x',
    );
    expect(userBusAddress({ XDG_RUNTIME_DIR: dir })).toBe(`unix:path=${join(dir, 'bus')}`);
    expect(userBusAddress({ XDG_RUNTIME_DIR: join(dir, 'nothing') })).toBeUndefined();
    expect(userBusAddress({})).toBeUndefined();
  });

  it("leaves a unit's manager saying, naming --systemd-cgroup, that there is none", async () => {
    const files = { exists: () => false } as unknown as CgroupManager;
    const unit = systemdUnitFor('user.slice:corral:x', 'x');
    const manager = new SystemdCgroupManager({ unit, files, ...systemdUserConnection({}) });
    await expect(manager.destroy()).rejects.toThrow(
      /^--systemd-cgroup: no session bus to reach the user's systemd instance \(DBUS_SESSION_BUS_ADDRESS is unset/,
    );
  });

  it('is reached as the uid the bus knows this process by', async () => {
    const connection = systemdUserConnection({ DBUS_SESSION_BUS_ADDRESS: address });
    (await connection.connect()).close();
    // A uid the socket's credentials do not carry is refused: the uid given is the one claimed.
    const uid = process.getuid!();
    await expect(DBusConnection.open(address, uid + 1)).rejects.toThrow(/the bus refused authentication/);
    (await DBusConnection.open(address, uid)).close();
  });
});

describe("a uid as the host's user namespace sees it", () => {
  it('is itself on the host, and the mapped id in a user namespace', () => {
    expect(hostUidOf(1001, '         0          0 4294967295\n')).toBe(1001);
    const podman = '         0       1001          1\n         1     100000      65536\n';
    expect(hostUidOf(0, podman)).toBe(1001);
    expect(hostUidOf(5, podman)).toBe(100004);
    expect(hostUidOf(70000, podman)).toBe(70000);
  });
});

describe("a unit of the user's instance", () => {
  it('counts as there while its transient file is in the instance runtime directory', () => {
    const transient = join(dir, 'systemd/transient');
    mkdirSync(transient, { recursive: true });
    const unit = systemdUnitFor('user.slice:corral:x', 'x');
    const files = { exists: () => false } as unknown as CgroupManager;
    const manager = new SystemdCgroupManager({ unit, files, transientDir: transient });
    expect(manager.exists()).toBe(false);
    writeFileSync(join(transient, unit.name), '');
    expect(manager.exists()).toBe(true);
    expect(systemdUserConnection({}).transientDir).toMatch(/^\/run\/user\/\d+\/systemd\/transient$/);
  });
});
