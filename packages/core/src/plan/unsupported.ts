import { existsSync, readFileSync } from 'node:fs';

import { CorralError } from '../errors.js';
import type { Spec, SpecProcess } from '../spec/types.js';

function appArmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

const selinuxEnabled = () => existsSync('/sys/fs/selinux/enforce');

/** Fields of the process that corral cannot honour yet: refused, never silently dropped. */
export function refuseUnsupportedProcess(process: SpecProcess): void {
  const fields = process as unknown as Record<string, unknown>;
  if (fields.apparmorProfile) {
    throw new CorralError(
      'NOT_SUPPORTED',
      appArmorEnabled()
        ? 'process.apparmorProfile: AppArmor profiles are not supported yet'
        : 'process.apparmorProfile: AppArmor is not enabled on this host',
    );
  }
  if (fields.selinuxLabel) {
    throw new CorralError(
      'NOT_SUPPORTED',
      selinuxEnabled()
        ? 'process.selinuxLabel: SELinux labels are not supported yet'
        : 'process.selinuxLabel: SELinux is not enabled on this host',
    );
  }
}

/** The same for the container as a whole. */
export function refuseUnsupported(spec: Spec): void {
  refuseUnsupportedProcess(spec.process!);
  const linux = (spec.linux ?? {}) as Record<string, unknown>;
  if (linux.mountLabel) {
    throw new CorralError(
      'NOT_SUPPORTED',
      selinuxEnabled()
        ? 'linux.mountLabel: SELinux labels are not supported yet'
        : 'linux.mountLabel: SELinux is not enabled on this host',
    );
  }
  if (linux.intelRdt !== undefined)
    throw new CorralError('NOT_SUPPORTED', 'linux.intelRdt is not supported yet');
}
