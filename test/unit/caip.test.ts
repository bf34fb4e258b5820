import { describe, expect, it } from 'vitest';
import { parseAccountId, parseAssetId, parseChainId } from '../../src/domain/caip.ts';
import { canTransition } from '../../src/domain/status.ts';
import { ValidationError } from '../../src/errors.ts';

describe('CAIP ids', () => {
  it('accepts the ids of every family', () => {
    for (const id of ['eip155:1', 'cosmos:cosmoshub-4', 'polkadot:91b171bb158e2d3848fa23a9f1c25182', 'fabric:net1_channel1']) {
      expect(parseChainId(id).id).toBe(id);
    }
    expect(parseAccountId('eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb').address).toBe('0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb');
    expect(parseAssetId('eip155:1/erc20:0x6b175474e89094c44da98b954eedeac495271d0f').namespace).toBe('erc20');
  });

  it('rejects malformed ids naming the field', () => {
    for (const bad of ['eth:1!', 'e:1', 'eip155', 'EIP155:1', 'eip155:' + 'x'.repeat(33), '', 42]) {
      expect(() => parseChainId(bad, 'chainId')).toThrow(ValidationError);
    }
    try {
      parseChainId('eth:1!', 'chain-id');
    } catch (e) {
      expect((e as ValidationError).field).toBe('chain-id');
    }
  });

  it('statuses only move forward', () => {
    expect(canTransition('sent', 'verified')).toBe(true);
    expect(canTransition('delivered', 'committed')).toBe(false);
    expect(canTransition('failed', 'delivered')).toBe(true);
    expect(canTransition('attested', 'quarantined')).toBe(false);
    expect(canTransition('quarantined', 'verified')).toBe(false);
  });

  it('a message is never both delivered and refunded, and a cancelled one is not acknowledged', () => {
    expect(canTransition('delivered', 'refunded')).toBe(false);
    expect(canTransition('acknowledged', 'refunded')).toBe(false);
    expect(canTransition('delivered', 'timed_out')).toBe(false);
    expect(canTransition('timed_out', 'delivered')).toBe(false);
    expect(canTransition('timed_out', 'acknowledged')).toBe(false);
    expect(canTransition('timed_out', 'refunded')).toBe(true);
    expect(canTransition('failed', 'timed_out')).toBe(true);
    expect(canTransition('failed', 'refunded')).toBe(true);
    expect(canTransition('delivered', 'acknowledged')).toBe(true);
    expect(canTransition('refunded', 'delivered')).toBe(false);
  });
});
