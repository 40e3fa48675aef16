import { isRunningSystemd } from '@corral/cgroups';
import { seccompLibraryVersion } from '@corral/native';

import { CAPABILITIES } from './plan/capabilities.js';
import { KNOWN_MOUNT_OPTIONS } from './plan/mount-options.js';
import { NAMESPACE_FLAGS } from './plan/namespaces.js';
import { SECCOMP_ACTIONS, SECCOMP_ARCHITECTURES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from './plan/seccomp.js';

import { OCI_VERSION } from './state/oci-state.js';

export { OCI_VERSION };

/** The runtime-spec `features` document, built from the tables corral itself runs on. */
export function runtimeFeatures() {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [...KNOWN_MOUNT_OPTIONS].sort(),
    linux: {
      namespaces: Object.keys(NAMESPACE_FLAGS),
      capabilities: [...CAPABILITIES.keys()],
      cgroup: {
        v1: true,
        v2: true,
        systemd: isRunningSystemd(),
        systemdUser: isRunningSystemd(),
        rdma: false,
      },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS.keys()],
        operators: [...SECCOMP_OPERATORS.keys()],
        archs: [...SECCOMP_ARCHITECTURES.keys()],
        knownFlags: [...SECCOMP_FLAGS.keys()],
        supportedFlags: [...SECCOMP_FLAGS.keys()],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    // As runc's: the libseccomp that compiles the filters, which tools read to know what a
    // profile may use.
    annotations: {
      'io.github.seccomp.libseccomp.version': seccompLibraryVersion(),
      'org.corral.version': '0.1.0',
    },
  };
}
