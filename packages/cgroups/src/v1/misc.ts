import type { ControllerWriter } from '../controller.js';
import { notSupported } from '../errors.js';
import type { LinuxRdma } from '../types.js';

export const pidsV1: ControllerWriter = {
  wants: ({ pids }) => (pids ? 'linux.resources.pids.limit' : undefined),
  set(files, { pids }) {
    if (!pids) return;
    // As current runc: systemd has no TasksMax=0, so a zero limit means one task on every
    // driver; a negative limit means none.
    files.write('pids.max', pids.limit > 0 ? String(pids.limit) : pids.limit === 0 ? '1' : 'max');
  },
};

/** hugetlb.<size>.limit_in_bytes on v1, hugetlb.<size>.max on v2. */
export function hugetlbWriter(fileFor: (pageSize: string) => string): ControllerWriter {
  return {
    wants: ({ hugepageLimits }) => (hugepageLimits?.length ? 'linux.resources.hugepageLimits' : undefined),
    check(files, { hugepageLimits = [] }) {
      hugepageLimits.forEach((entry, index) => {
        if (!files.has(fileFor(entry.pageSize))) {
          throw notSupported(
            `huge page size ${entry.pageSize} is not offered by this kernel`,
            `linux.resources.hugepageLimits[${index}].pageSize`,
          );
        }
      });
    },
    set(files, { hugepageLimits = [] }) {
      for (const entry of hugepageLimits) files.write(fileFor(entry.pageSize), String(entry.limit));
    },
  };
}

export const hugetlbV1 = hugetlbWriter((pageSize) => `hugetlb.${pageSize}.limit_in_bytes`);

export const netClsV1: ControllerWriter = {
  wants: ({ network }) => (network?.classID !== undefined ? 'linux.resources.network.classID' : undefined),
  set(files, { network }) {
    if (network?.classID !== undefined) files.write('net_cls.classid', String(network.classID));
  },
};

export const netPrioV1: ControllerWriter = {
  wants: ({ network }) => (network?.priorities?.length ? 'linux.resources.network.priorities' : undefined),
  set(files, { network }) {
    for (const { name, priority } of network?.priorities ?? []) {
      // ifpriomap reads back as the whole table; an interface's old priority is its line.
      const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const previous =
        new RegExp(`^${escaped} (\\d+)$`, 'm').exec(files.read('net_prio.ifpriomap'))?.[1] ?? '0';
      files.write('net_prio.ifpriomap', `${name} ${priority}`, () =>
        files.write('net_prio.ifpriomap', `${name} ${previous}`),
      );
    }
  },
};

/** "mlx4_0 hca_handle=2 hca_object=2000"; an unset count is "max". */
export function rdmaLine(device: string, limits: LinuxRdma): string {
  const value = (n: number | undefined) => (n === undefined ? 'max' : String(n));
  return `${device} hca_handle=${value(limits.hcaHandles)} hca_object=${value(limits.hcaObjects)}`;
}

/** rdma.max has the same format on v1 and v2. */
export const rdmaWriter: ControllerWriter = {
  wants: ({ rdma }) => (rdma && Object.keys(rdma).length > 0 ? 'linux.resources.rdma' : undefined),
  set(files, { rdma = {} }) {
    for (const [device, limits] of Object.entries(rdma)) {
      files.write('rdma.max', rdmaLine(device, limits), () => files.write('rdma.max', rdmaLine(device, {})));
    }
  },
};
