import { describe, expect, it } from 'vitest';

import {
  BridgeStrategy,
  LoopbackStrategy,
  type NetworkConfig,
  NetworkConfigError,
  NetworkSetupError,
  strategyFor,
  type VethConfig,
  VethStrategy,
  validateNetworks,
} from '../../src/index.js';
import { interfaceStatistics, withRollback } from '../../src/strategies/strategy.js';

const good: VethConfig = {
  type: 'veth',
  name: 'eth0',
  hostInterfaceName: 'veth0abc',
  macAddress: '02:42:ac:11:00:02',
  mtu: 1500,
  addresses: ['172.17.0.2/16', 'fd00:c0de::2/64'],
  gateway: '172.17.0.1',
  ipv6Gateway: 'fd00:c0de::1',
  bridge: 'br0',
};

describe('strategyFor', () => {
  it('finds each strategy by type and refuses others', () => {
    expect(strategyFor({ type: 'loopback' })).toBeInstanceOf(LoopbackStrategy);
    expect(strategyFor(good)).toBeInstanceOf(VethStrategy);
    expect(strategyFor({ type: 'bridge', name: 'br0' })).toBeInstanceOf(BridgeStrategy);
    expect(() => strategyFor({ type: 'macvlan' } as unknown as NetworkConfig)).toThrow(
      /^type: expected one of loopback, veth, bridge/,
    );
    expect(() => strategyFor({ type: 'toString' } as unknown as NetworkConfig)).toThrow(NetworkConfigError);
  });
});

describe('veth config checks', () => {
  const veth = new VethStrategy();

  it('accepts a complete config', () => {
    expect(() => veth.validate(good)).not.toThrow();
  });

  it('accepts a link-local IPv6 gateway, which needs no address of its network', () => {
    expect(() => veth.validate({ ...good, ipv6Gateway: 'fe80::1' })).not.toThrow();
  });

  it.each<[Partial<VethConfig>, string]>([
    [{ hostInterfaceName: 'veth0123456789ab' }, 'hostInterfaceName'],
    [{ name: '' }, 'name'],
    [{ bridge: 'a bridge' }, 'bridge'],
    [{ addresses: ['172.17.0.2'] }, 'addresses[0]'],
    [{ addresses: ['172.17.0.2/16', 'fd00:corral::2/64'] }, 'addresses[1]'],
    [{ macAddress: '02:42:ac:11:00:0g' }, 'macAddress'],
    [{ macAddress: '00:00:00:00:00:00' }, 'macAddress'],
    [{ mtu: 65536 }, 'mtu'],
    [{ mtu: 1500.5 }, 'mtu'],
    [{ txQueueLength: -1 }, 'txQueueLength'],
    [{ gateway: '172.18.0.1' }, 'gateway'],
    [{ gateway: 'fd00:c0de::1' }, 'gateway'],
    [{ ipv6Gateway: 'fd00:beef::1' }, 'ipv6Gateway'],
    [{ addresses: '172.17.0.2/16' as unknown as string[] }, 'addresses'],
  ])('refuses %o naming %s', (change, field) => {
    const error = (() => {
      try {
        veth.validate({ ...good, ...change });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(NetworkConfigError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', field });
  });
});

describe('bridge config checks', () => {
  it('names the field at fault', () => {
    const bridge = new BridgeStrategy();
    expect(() =>
      bridge.validate({ type: 'bridge', name: 'br0', addresses: ['10.0.0.1/24'], mtu: 9000 }),
    ).not.toThrow();
    expect(() => bridge.validate({ type: 'bridge', name: 'br0', addresses: ['10.0.0.1/40'] })).toThrow(
      /^addresses\[0\]/,
    );
    expect(() =>
      bridge.validate({ type: 'bridge', name: 'br0', reuse: 'yes' as unknown as boolean }),
    ).toThrow(/^reuse/);
  });
});

describe('withRollback', () => {
  it('undoes the steps done so far, newest first, and keeps the failure as the cause', async () => {
    const undone: string[] = [];
    const failure = new Error('step three failed');
    const error = await withRollback('setup', async (onFailure) => {
      onFailure(async () => void undone.push('one'));
      onFailure(async () => void undone.push('two'));
      throw failure;
    }).catch((e: unknown) => e);
    expect(undone).toEqual(['two', 'one']);
    expect(error).toBeInstanceOf(NetworkSetupError);
    expect(error).toMatchObject({ code: 'SETUP_FAILED', cause: failure, cleanupErrors: [] });
    expect((error as Error).message).toBe('setup: step three failed');
  });

  it('goes on undoing when one undo fails, and reports it', async () => {
    const undone: string[] = [];
    const error = await withRollback('setup', async (onFailure) => {
      onFailure(async () => void undone.push('one'));
      onFailure(async () => {
        throw new Error('could not remove two');
      });
      throw new Error('boom');
    }).catch((e: unknown) => e);
    expect(undone).toEqual(['one']);
    expect((error as NetworkSetupError).cleanupErrors).toHaveLength(1);
    expect((error as Error).message).toMatch(/boom; cleanup also failed: Error: could not remove two/);
  });

  it('returns the result when nothing fails', async () => {
    expect(await withRollback('setup', async () => 42)).toBe(42);
  });
});

describe('interfaceStatistics', () => {
  it('swaps receive and transmit when read from the peer', () => {
    const counters = {
      rxPackets: 1,
      txPackets: 2,
      rxBytes: 3,
      txBytes: 4,
      rxErrors: 5,
      txErrors: 6,
      rxDropped: 7,
      txDropped: 8,
    };
    expect(interfaceStatistics('veth0', counters, true)).toEqual({
      name: 'veth0',
      rxBytes: 4,
      rxPackets: 2,
      rxErrors: 6,
      rxDropped: 8,
      txBytes: 3,
      txPackets: 1,
      txErrors: 5,
      txDropped: 7,
    });
    expect(interfaceStatistics('br0', counters, false)).toMatchObject({ rxBytes: 3, txBytes: 4 });
  });
});

describe('validateNetworks', () => {
  it('names the network and the field at fault', () => {
    expect(() => validateNetworks([{ type: 'loopback' }, { ...good, mtu: 10 }])).toThrow(
      /^networks\[1\]\.mtu: /,
    );
    expect(() =>
      validateNetworks([{ type: 'loopback' }, { type: 'nope' } as unknown as NetworkConfig]),
    ).toThrow(/^networks\[1\]\.type: /);
  });

  it('refuses two veths with the same name on either side', () => {
    const second = { ...good, name: 'eth1' };
    expect(() => validateNetworks([good, second])).toThrow(
      /^networks\[1\]\.hostInterfaceName: also used by networks\[0\]/,
    );
    expect(() => validateNetworks([good, { ...good, hostInterfaceName: 'veth1abc' }])).toThrow(
      /^networks\[1\]\.name: also used by networks\[0\]/,
    );
    expect(() =>
      validateNetworks([{ type: 'loopback' }, good, { ...second, hostInterfaceName: 'veth1abc' }]),
    ).not.toThrow();
  });
});
