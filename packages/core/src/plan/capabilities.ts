/** Capability numbers from linux/capability.h, by the names the OCI spec uses. */
const NAMES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

export const CAPABILITIES: ReadonlyMap<string, number> = new Map(
  NAMES.map((name, bit) => [`CAP_${name}`, bit]),
);

/** A capability set as the 64-bit mask capset(2) takes. */
export function capabilityMask(names: readonly string[] | undefined): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const bit = CAPABILITIES.get(name);
    if (bit === undefined) throw new RangeError(`unknown capability ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}
