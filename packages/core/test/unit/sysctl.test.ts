import { describe, expect, it } from 'vitest';

import { compileSysctls } from '../../src/plan/sysctl.js';
import type { NamespaceType, Spec } from '../../src/spec/types.js';

const spec = (sysctl: Record<string, unknown>, namespaces: NamespaceType[]): Spec =>
  ({
    linux: { sysctl, namespaces: namespaces.map((type) => ({ type })) },
  }) as unknown as Spec;

describe('compileSysctls', () => {
  it('turns names into paths under /proc/sys, with dots or slashes', () => {
    expect(
      compileSysctls(spec({ 'net.ipv4.ip_forward': '1', 'fs/mqueue/msg_max': '20' }, ['network', 'ipc'])),
    ).toEqual([
      { name: 'net/ipv4/ip_forward', value: '1', field: 'linux.sysctl["net.ipv4.ip_forward"]' },
      { name: 'fs/mqueue/msg_max', value: '20', field: 'linux.sysctl["fs/mqueue/msg_max"]' },
    ]);
  });

  it('wants the namespace each sysctl belongs to', () => {
    expect(() => compileSysctls(spec({ 'kernel.shmmax': '1' }, ['network']))).toThrow(
      /linux\.sysctl\["kernel\.shmmax"\].*ipc namespace/,
    );
    expect(() => compileSysctls(spec({ 'net.core.somaxconn': '1' }, ['ipc']))).toThrow(/network namespace/);
    expect(compileSysctls(spec({ 'kernel.domainname': 'x' }, ['uts']))).toHaveLength(1);
  });

  it('refuses host sysctls, the hostname, odd names and values that are not strings', () => {
    expect(() => compileSysctls(spec({ 'vm.swappiness': '1' }, ['network', 'ipc', 'uts']))).toThrow(
      /not in a kernel namespace/,
    );
    expect(() => compileSysctls(spec({ 'kernel.hostname': 'x' }, ['uts']))).toThrow(/hostname field/);
    expect(() => compileSysctls(spec({ 'net.ipv4/../../x': '1' }, ['network']))).toThrow(/not a sysctl name/);
    expect(() => compileSysctls(spec({ 'net.ipv4.ip_forward': 1 }, ['network']))).toThrow(/must be a string/);
  });
});
