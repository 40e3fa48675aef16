import { NetworkSetupError } from '../errors.js';
import type { LinkStatistics } from '../netlink/link.js';
import type { NetworkNamespace } from '../netns.js';
import { Rtnetlink } from '../rtnetlink.js';

/** Where a strategy works: the container's namespace, and the host's (this process's by default). */
export interface NetworkTarget {
  netns: NetworkNamespace;
  hostNetns?: NetworkNamespace;
}

/** What `create` made, kept (as JSON) beside the config so that `destroy` removes only that. */
export interface NetworkState {
  type: string;
  /** True when `create` made the interface rather than reusing one. */
  created: boolean;
}

/** Interface counters as libcontainer's Stats reports them (types.NetworkInterface). */
export interface InterfaceStatistics {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * One kind of container network, after libcontainer's networkStrategy: `create` sets it up
 * (both ends, in one process), `detach` and `attach` cut and restore its traffic (CRIU's
 * network-lock and network-unlock), `destroy` removes what `create` made. Each method checks
 * the config before it changes anything, and `create` removes what it made when it fails.
 */
export interface NetworkStrategy<Config> {
  readonly type: string;
  /** Throws a NetworkConfigError naming the field at fault; changes nothing. */
  validate(config: Config): void;
  create(config: Config, target: NetworkTarget): Promise<NetworkState>;
  attach(config: Config, target: NetworkTarget): Promise<void>;
  detach(config: Config, target: NetworkTarget): Promise<void>;
  destroy(config: Config, target: NetworkTarget, state?: NetworkState): Promise<void>;
  /** Counters of the interface, or undefined when this kind has none worth reporting. */
  statistics(config: Config, target: NetworkTarget): Promise<InterfaceStatistics | undefined>;
}

/** Runs `body` with an rtnetlink socket in `netns` (or this process's namespace), then closes it. */
export async function withRtnetlink<T>(
  netns: NetworkNamespace | undefined,
  body: (rt: Rtnetlink) => Promise<T>,
) {
  const rt = Rtnetlink.open(netns);
  try {
    return await body(rt);
  } finally {
    rt.close();
  }
}

/**
 * Runs the steps of a setup; when one fails, runs the undo actions registered so far (newest
 * first) and throws a NetworkSetupError that carries the failure and any failure of the undo.
 */
export async function withRollback<T>(
  what: string,
  body: (onFailure: (undo: () => Promise<void>) => void) => Promise<T>,
) {
  const undo: Array<() => Promise<void>> = [];
  try {
    return await body((action) => undo.push(action));
  } catch (error) {
    const cleanupErrors: unknown[] = [];
    for (const action of undo.reverse()) {
      try {
        await action();
      } catch (cleanupError) {
        cleanupErrors.push(cleanupError);
      }
    }
    throw new NetworkSetupError(what, error, cleanupErrors);
  }
}

/** libcontainer's NetworkInterface from the kernel's counters, optionally seen from the other end. */
export function interfaceStatistics(
  name: string,
  counters: LinkStatistics,
  fromPeer: boolean,
): InterfaceStatistics {
  const rx = fromPeer ? 'tx' : 'rx';
  const tx = fromPeer ? 'rx' : 'tx';
  return {
    name,
    rxBytes: counters[`${rx}Bytes`],
    rxPackets: counters[`${rx}Packets`],
    rxErrors: counters[`${rx}Errors`],
    rxDropped: counters[`${rx}Dropped`],
    txBytes: counters[`${tx}Bytes`],
    txPackets: counters[`${tx}Packets`],
    txErrors: counters[`${tx}Errors`],
    txDropped: counters[`${tx}Dropped`],
  };
}
