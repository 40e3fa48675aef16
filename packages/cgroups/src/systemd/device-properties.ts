import { normalizeDeviceRule } from '../devices/rules.js';
import { invalidConfig } from '../errors.js';
import type { LinuxDeviceCgroup } from '../types.js';
import { Variant } from './dbus/variant.js';

const FIELD = 'linux.resources.devices';
const PERMISSIONS = ['r', 'w', 'm'] as const;

type Node = 'b' | 'c';
/** A device rule's match, as a map key: "c:1:3", with -1 for a wildcard number. */
type MatchKey = `${Node}:${number}:${number}`;

const union = (a: string, b: string) => PERMISSIONS.filter((p) => a.includes(p) || b.includes(p)).join('');
const minus = (a: string, b: string) => PERMISSIONS.filter((p) => a.includes(p) && !b.includes(p)).join('');
const common = (a: string, b: string) => PERMISSIONS.filter((p) => a.includes(p) && b.includes(p)).join('');

/**
 * The device rules folded the way the v1 devices controller folds successive writes: a rule for
 * every device sets the default and forgets the rest; others add exceptions to it or take
 * permissions away from an exception with the same match (runc's device emulator).
 */
export function foldDeviceRules(rules: readonly LinuxDeviceCgroup[]): {
  defaultAllow: boolean;
  exceptions: Map<MatchKey, string>;
} {
  let defaultAllow = true;
  let exceptions = new Map<MatchKey, string>();
  rules.forEach((raw, index) => {
    const rule = normalizeDeviceRule(raw);
    if (rule.type === 'a') {
      defaultAllow = rule.allow;
      exceptions = new Map();
      return;
    }
    const key: MatchKey = `${rule.type}:${rule.major}:${rule.minor}`;
    // An allow in a deny-by-default list adds to an exception; elsewhere a rule takes away.
    if (rule.allow !== defaultAllow) {
      exceptions.set(key, union(exceptions.get(key) ?? '', rule.access));
      return;
    }
    // The kernel cannot take part of a wildcard exception away: refuse rather than ignore it.
    for (const wider of [
      `${rule.type}:-1:${rule.minor}`,
      `${rule.type}:${rule.major}:-1`,
      `${rule.type}:-1:-1`,
    ] as MatchKey[]) {
      if (wider !== key && common(exceptions.get(wider) ?? '', rule.access) !== '') {
        throw invalidConfig(
          `${FIELD}[${index}]`,
          `cannot take ${rule.access} away from part of the wider rule ${wider.replaceAll(':', ' ').replace(/-1/g, '*')}`,
        );
      }
    }
    const left = minus(exceptions.get(key) ?? '', rule.access);
    if (left) exceptions.set(key, left);
    else exceptions.delete(key);
  });
  return { defaultAllow, exceptions };
}

/** systemd's name for a device match: /dev/char/1:3, char-136 (every minor), block-* (every device). */
function devicePath(node: Node, major: number, minor: number): string | undefined {
  const group = node === 'b' ? 'block' : 'char';
  if (major === -1) return minor === -1 ? `${group}-*` : undefined;
  if (minor === -1) return `${group}-${major}`;
  return `/dev/${group}/${major}:${minor}`;
}

/**
 * DevicePolicy and DeviceAllow for the rules, as runc gives them to systemd: a deny-by-default
 * list becomes DevicePolicy=strict with one DeviceAllow entry per exception (sorted by major,
 * minor, type); an allow-everything list becomes DevicePolicy=auto with none. What systemd
 * cannot say (a deny list with exceptions, a wildcard major with a fixed minor) is left to the
 * device program or devices.allow the driver writes afterwards.
 */
export function deviceProperties(rules: readonly LinuxDeviceCgroup[]): Array<[string, Variant]> {
  const { defaultAllow, exceptions } = foldDeviceRules(rules);
  if (defaultAllow) {
    return exceptions.size === 0
      ? [
          ['DevicePolicy', new Variant('s', 'auto')],
          ['DeviceAllow', new Variant('a(ss)', [])],
        ]
      : [
          ['DevicePolicy', new Variant('s', 'strict')],
          ['DeviceAllow', new Variant('a(ss)', [])],
        ];
  }
  const sorted = [...exceptions].map(([key, access]) => {
    const [node, major, minor] = key.split(':') as [Node, string, string];
    return { node, major: Number(major), minor: Number(minor), access };
  });
  sorted.sort((a, b) => a.major - b.major || a.minor - b.minor || a.node.localeCompare(b.node));
  const allow: Array<[string, string]> = [];
  for (const { node, major, minor, access } of sorted) {
    const path = devicePath(node, major, minor);
    if (path) allow.push([path, access]);
  }
  return [
    ['DevicePolicy', new Variant('s', 'strict')],
    // An empty list first clears what the unit had, then the new list is added.
    ['DeviceAllow', new Variant('a(ss)', [])],
    ['DeviceAllow', new Variant('a(ss)', allow)],
  ];
}
