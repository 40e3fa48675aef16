import { NetworkNamespace, Rtnetlink } from '@corral/network';

import { CorralError, InvalidConfigError } from '../errors.js';
import type { Spec } from '../spec/types.js';

/** A host interface lent to the container: its name on the host and inside. */
export interface NetDevice {
  host: string;
  name: string;
}

const INTERFACE_NAME = /^[^\s/:]{1,15}$/;

/**
 * linux.netDevices, checked before anything exists: names the kernel would take, and a
 * network namespace of the container's own to move them into (never the host's).
 */
export function planNetDevices(spec: Spec): NetDevice[] {
  const raw = spec.linux?.netDevices;
  if (raw === undefined) return [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new InvalidConfigError('linux.netDevices', 'must be an object keyed by host interface name');
  const devices = Object.entries(raw as Record<string, { name?: unknown } | null>).map(([host, device]) => {
    const path = `linux.netDevices[${JSON.stringify(host)}]`;
    if (!INTERFACE_NAME.test(host) || host === '.' || host === '..')
      throw new InvalidConfigError(path, 'is not an interface name');
    const name = device?.name ?? host;
    if (typeof name !== 'string' || !INTERFACE_NAME.test(name) || name === '.' || name === '..')
      throw new InvalidConfigError(`${path}.name`, `is not an interface name: ${JSON.stringify(name)}`);
    return { host, name };
  });
  const netns = spec.linux?.namespaces?.find((ns) => ns.type === 'network');
  if (devices.length > 0 && (!netns || netns.path))
    throw new InvalidConfigError('linux.netDevices', "needs a network namespace of the container's own");
  const names = devices.map((d) => d.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new InvalidConfigError('linux.netDevices', `two devices would be named ${twice}`);
  return devices;
}

/**
 * Moves the devices into the network namespace of `pid` under their container names. On a
 * failure the ones already moved go back, so the host keeps every interface it had.
 */
export async function lendNetDevices(devices: readonly NetDevice[], pid: number): Promise<void> {
  if (devices.length === 0) return;
  const host = Rtnetlink.open();
  const moved: NetDevice[] = [];
  try {
    for (const device of devices) {
      try {
        await host.setLink(device.host, { netnsPid: pid, name: device.name });
      } catch (error) {
        throw new CorralError(
          'SYSTEM',
          `linux.netDevices[${JSON.stringify(device.host)}]: cannot move it into the container: ${(error as Error).message}`,
          { cause: error },
        );
      }
      moved.push(device);
    }
  } catch (error) {
    await returnNetDevices(moved, pid).catch(() => undefined);
    throw error;
  } finally {
    host.close();
  }
}

/**
 * Gives the devices back to the host under their own names, while the container's network
 * namespace still exists (once it is gone the kernel returns physical devices itself and
 * virtual ones go with it).
 */
export async function returnNetDevices(devices: readonly NetDevice[], pid: number): Promise<void> {
  if (devices.length === 0) return;
  let netns: NetworkNamespace;
  try {
    netns = NetworkNamespace.fromPid(pid);
  } catch {
    return; // The namespace is gone.
  }
  const inside = Rtnetlink.open(netns);
  const host = NetworkNamespace.current();
  const failures: string[] = [];
  try {
    for (const device of devices) {
      await inside
        .setLink(device.name, { netns: host, name: device.host })
        .catch((error: Error) => failures.push(`${device.name}: ${error.message}`));
    }
  } finally {
    inside.close();
    host.close();
    netns.close();
  }
  if (failures.length)
    throw new CorralError('SYSTEM', `cannot give network devices back to the host: ${failures.join('; ')}`);
}

/**
 * The lent devices that are one end of a veth pair whose other end stayed on the host. CRIU
 * dumps such an end without its peer (which dies with the container's namespace); told the
 * pair, it makes both ends again on restore, the peer on the host under its old name.
 */
export async function lentVethPairs(
  devices: readonly NetDevice[],
  pid: number,
): Promise<Array<{ inside: string; outside: string }>> {
  if (devices.length === 0) return [];
  const netns = NetworkNamespace.fromPid(pid);
  const inside = Rtnetlink.open(netns);
  const host = Rtnetlink.open();
  try {
    const pairs: Array<{ inside: string; outside: string }> = [];
    for (const device of devices) {
      const link = await inside.getLink(device.name);
      if (link?.kind !== 'veth' || link.peerIndex === undefined) continue;
      // The index is the peer's in its own namespace: it is ours only if it points back.
      const peer = await host.getLink(link.peerIndex);
      if (peer?.kind === 'veth' && peer.peerIndex === link.index)
        pairs.push({ inside: device.name, outside: peer.name });
    }
    return pairs;
  } finally {
    inside.close();
    host.close();
    netns.close();
  }
}
