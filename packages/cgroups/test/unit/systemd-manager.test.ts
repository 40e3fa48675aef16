import { describe, expect, it } from 'vitest';

import {
  type CgroupError,
  type CgroupManager,
  type LinuxResources,
  SystemdCgroupManager,
  systemdUnitFor,
  type UnitProperty,
  Variant,
} from '../../src/index.js';
import { DBusError } from '../../src/systemd/dbus/connection.js';
import type { Systemd1, UnitPropertyValue } from '../../src/systemd/systemd1.js';

// The driver's order of calls against a recording systemd and recording files: the calls
// themselves are proven against the real systemd in the guest (test/vm).

function recorder(
  options: { startFails?: DBusError[]; setFails?: DBusError; annotations?: UnitProperty[] } = {},
) {
  const calls: string[] = [];
  const started: UnitPropertyValue[][] = [];
  const set: UnitPropertyValue[][] = [];
  const startFails = [...(options.startFails ?? [])];
  const systemd = {
    startTransientUnit: async (name: string, properties: UnitPropertyValue[]) => {
      calls.push(`start ${name}`);
      started.push(properties);
      const failure = startFails.shift();
      if (failure) throw failure;
    },
    stopUnit: async (name: string) => {
      calls.push(`stop ${name}`);
      return 'done';
    },
    resetFailedUnit: async (name: string) => {
      calls.push(`reset ${name}`);
    },
    setUnitProperties: async (name: string, properties: UnitPropertyValue[]) => {
      calls.push(`set-properties ${name}`);
      set.push(properties);
      if (options.setFails) throw options.setFails;
    },
    version: async () => 252,
    close: () => {},
  } as unknown as Systemd1;
  let exists = false;
  const files: CgroupManager = {
    mode: 'unified',
    apply: async (pid) => {
      exists = true;
      calls.push(`files apply ${pid}`);
    },
    set: async (resources: LinuxResources) => {
      calls.push(`files set ${JSON.stringify(resources.cpu ?? {})}`);
    },
    destroy: async () => {
      exists = false;
      calls.push('files destroy');
    },
    exists: () => exists,
    getPaths: () => ({ '': '/sys/fs/cgroup/system.slice/p-n.scope' }),
    getStats: async () => ({}) as never,
    getPids: async () => [],
    freeze: async () => {},
    getFreezerState: async () => 'thawed',
    oomEvents: () => ({}) as never,
  };
  const manager = new SystemdCgroupManager({
    unit: systemdUnitFor('system.slice:p:n', 'x'),
    files,
    annotations: options.annotations ?? [],
    connect: async () => systemd,
  });
  return { manager, calls, started, set };
}

describe('SystemdCgroupManager', () => {
  it('starts the scope, then the files; sets properties, then the files with the rounded quota', async () => {
    const { manager, calls, set } = recorder();
    await manager.apply(42);
    await manager.set({ cpu: { quota: 12_345, period: 100_000 } });
    expect(calls).toEqual([
      'start p-n.scope',
      'files apply 42',
      'set-properties p-n.scope',
      'files set {"quota":13000,"period":100000}',
    ]);
    expect(set[0]!.map(([name]) => name)).toEqual(['CPUQuotaPeriodUSec', 'CPUQuotaPerSecUSec']);
    expect(manager.systemdUnit).toBe('p-n.scope');
  });

  it('resets a failed unit of the same name and tries once more', async () => {
    const exists = new DBusError('org.freedesktop.systemd1.UnitExists', 'Unit p-n.scope already exists.');
    const { manager, calls } = recorder({ startFails: [exists] });
    await manager.apply(42);
    expect(calls).toEqual(['start p-n.scope', 'reset p-n.scope', 'start p-n.scope', 'files apply 42']);
  });

  it('names the annotation behind a property systemd refuses, and leaves no failed unit', async () => {
    const refused = new DBusError(
      'org.freedesktop.DBus.Error.PropertyReadOnly',
      'Cannot set property NoSuchThing, or unknown property.',
    );
    const { manager, calls } = recorder({
      startFails: [refused],
      annotations: [
        {
          name: 'NoSuchThing',
          value: new Variant('t', 1n),
          field: 'annotations["org.systemd.property.NoSuchThing"]',
        },
      ],
    });
    const error = (await manager.apply(42).catch((e: unknown) => e)) as CgroupError;
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.field).toBe('annotations["org.systemd.property.NoSuchThing"]');
    expect(error.message).toBe(
      'annotations["org.systemd.property.NoSuchThing"]: systemd refused NoSuchThing: Cannot set property NoSuchThing, or unknown property.',
    );
    expect(calls).toEqual(['start p-n.scope', 'reset p-n.scope']);
  });

  it('waits for the first process before starting a scope (a restore hands it over later)', async () => {
    const { manager, calls } = recorder();
    await manager.apply(-1);
    await manager.set({ pids: { limit: 5 } });
    expect(calls).toEqual([]);
    await expect(manager.set({ unified: { 'memory.max': 'lots' } })).rejects.toThrow(/not a number/);
    await manager.apply(77);
    expect(calls).toEqual(['start p-n.scope', 'files apply 77', 'set-properties p-n.scope', 'files set {}']);
  });

  it('kills through the files before it stops the unit, then forgets it', async () => {
    const { manager, calls } = recorder();
    await manager.apply(42);
    await manager.destroy();
    expect(calls.slice(2)).toEqual(['files destroy', 'stop p-n.scope', 'reset p-n.scope']);
  });

  it('undoes the scope when the files cannot take the process', async () => {
    const { manager, calls } = recorder();
    (manager.files as { apply: (pid: number) => Promise<void> }).apply = async () => {
      calls.push('files apply fails');
      throw new Error('EACCES');
    };
    await expect(manager.apply(42)).rejects.toThrow('EACCES');
    expect(calls).toEqual(['start p-n.scope', 'files apply fails', 'stop p-n.scope', 'reset p-n.scope']);
  });
});
