import type { LinuxDeviceCgroup } from '../types.js';

/** A device rule with every default filled in: -1 is the wildcard for major and minor. */
export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  major: number;
  minor: number;
  access: string;
}

export function normalizeDeviceRule(rule: LinuxDeviceCgroup): DeviceRule {
  const access = rule.access || 'rwm';
  return {
    allow: rule.allow,
    type: rule.type ?? 'a',
    major: rule.major ?? -1,
    minor: rule.minor ?? -1,
    // A canonical order, so "wr" and "rw" compare equal.
    access: ['r', 'w', 'm'].filter((letter) => access.includes(letter)).join(''),
  };
}

/** Matches every device with every access: the rule that sets the default. */
export function isCatchAllRule(rule: DeviceRule): boolean {
  return rule.type === 'a' && rule.access === 'rwm';
}

const char = (major: number, minor: number, access = 'rwm'): DeviceRule => ({
  allow: true,
  type: 'c',
  major,
  minor,
  access,
});

/**
 * What every container may use whatever its config says (the list runc allows): mknod of any
 * device, and /dev/null, zero, full, random, urandom, tty, ptmx and the pty slaves.
 */
export const DEFAULT_ALLOWED_DEVICES: readonly DeviceRule[] = [
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  char(1, 3), // /dev/null
  char(1, 8), // /dev/random
  char(1, 7), // /dev/full
  char(5, 0), // /dev/tty
  char(1, 5), // /dev/zero
  char(1, 9), // /dev/urandom
  char(136, -1), // /dev/pts/*
  char(5, 2), // /dev/ptmx
];

export const DENY_ALL_DEVICES: DeviceRule = { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' };

/** Default deny: deny everything, then the config's rules, then the devices every container gets. */
export function withDefaultDevices(rules: readonly LinuxDeviceCgroup[] = []): DeviceRule[] {
  return [DENY_ALL_DEVICES, ...rules.map(normalizeDeviceRule), ...DEFAULT_ALLOWED_DEVICES];
}

/**
 * Reduces an ordered list (a later rule overrides an earlier one, as successive writes to v1's
 * devices.allow/deny do) to a default and the rules after the last catch-all, which decide in
 * reverse order: the first match wins when evaluated last-to-first.
 */
export function effectiveDeviceRules(rules: readonly DeviceRule[]): {
  defaultAllow: boolean;
  rules: DeviceRule[];
} {
  let start = 0;
  // A cgroup starts allowing everything (its parent's list, at the root "a *:* rwm").
  let defaultAllow = true;
  rules.forEach((rule, index) => {
    if (isCatchAllRule(rule)) {
      defaultAllow = rule.allow;
      start = index + 1;
    }
  });
  return { defaultAllow, rules: rules.slice(start).reverse() };
}

/** A rule as a line of v1's devices.allow / devices.deny: "c 1:3 rwm", "a *:* rwm". */
export function deviceRuleLine(rule: DeviceRule): string {
  if (isCatchAllRule(rule)) return 'a';
  const number = (n: number) => (n === -1 ? '*' : String(n));
  return `${rule.type} ${number(rule.major)}:${number(rule.minor)} ${rule.access}`;
}
