import { CAPABILITIES } from './plan/capabilities.js';
import { KNOWN_MOUNT_OPTIONS } from './plan/mount-options.js';
import { NAMESPACE_FLAGS } from './plan/namespaces.js';
import type { NamespaceType } from './spec/types.js';

// What is not there yet is left out, so that the features say only what corral does.
const UNSUPPORTED_NAMESPACES = new Set<NamespaceType>(['user']);

/** The runtime-spec `features` document, built from the tables corral itself runs on. */
export function runtimeFeatures() {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [...KNOWN_MOUNT_OPTIONS].sort(),
    linux: {
      namespaces: Object.keys(NAMESPACE_FLAGS).filter(
        (ns) => !UNSUPPORTED_NAMESPACES.has(ns as NamespaceType),
      ),
      capabilities: [...CAPABILITIES.keys()],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'org.corral.version': '0.1.0' },
  };
}
