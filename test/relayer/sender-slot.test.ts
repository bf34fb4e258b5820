import { randomUUID } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Wallet, parseEther, type JsonRpcProvider } from 'ethers';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLeaseStore } from '../../relayer/lease.ts';
import { senderKeyFor, senderSlotLeaseKey, takeSenderSlot } from '../../relayer/sender-slot.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { addressOf, relayerSenderAddresses, relayerSenderKey } from '../../src/governance/keys.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { clearRedisPrefix, REDIS_URL } from '../helpers/services.ts';

const RELAYER = `0x${'11'.repeat(32)}` as Hex;
const logger = pino({ level: 'silent' });

describe('relayer sender slots', () => {
  it('derives each slot key as HMAC-SHA256(relayer key, "qiao/relayer-sender/<slot>/0"), pinned for the addresses operators fund', () => {
    const keys = [1, 2, 3].map((s) => relayerSenderKey(RELAYER, s));
    for (const [i, k] of keys.entries()) {
      const expected = Buffer.from(hmac(sha256, Buffer.from(RELAYER.slice(2), 'hex'), new TextEncoder().encode(`qiao/relayer-sender/${i + 1}/0`))).toString('hex');
      expect(k).toBe(`0x${expected}`);
    }
    // A change of the derivation would strand every funded slot address: these are the addresses of the key above.
    expect(relayerSenderAddresses(RELAYER, 3)).toEqual([
      '0x193fCcA757a943a932B26aCa95cF9A55bAf825aF',
      '0xB1d1A8C6ca6A72d2Cd71528e685Ca34684Acc17A',
      '0xAc5cc0cc3615597bBB805FBb8F50D33766E38De4',
    ]);
    expect(new Set([...keys, RELAYER]).size).toBe(4);
    expect(relayerSenderAddresses(RELAYER, 0)).toEqual([]);
    for (const bad of [0, -1, 1.5, 1025, Number.NaN]) expect(() => relayerSenderKey(RELAYER, bad), String(bad)).toThrow(ConfigError);
  });

  describe('leases on Redis', () => {
    let redis: Redis;
    const prefix = `qiao-test-slots-${randomUUID()}`;
    beforeAll(async () => {
      redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    });
    afterAll(async () => {
      await clearRedisPrefix(prefix);
      redis?.disconnect();
    });

    it('gives each process its own slot, none when all are held, and a released slot to the next process', async () => {
      const store = new RedisLeaseStore(redis, prefix);
      const take = (holder: string) => takeSenderSlot(store, { relayerKey: RELAYER, slots: 2, holder, ttlMs: 5000, logger });
      const a = await take('host:1:aa');
      const b = await take('host:2:bb');
      expect([a?.slot, b?.slot]).toEqual([1, 2]);
      expect(a!.key).toBe(relayerSenderKey(RELAYER, 1));
      expect(a!.address).toBe(addressOf(a!.key));
      expect(b!.address).not.toBe(a!.address);
      expect(await take('host:3:cc')).toBeNull();
      const holders = await store.holders();
      expect(holders.filter((h) => h.key.startsWith('sender:')).map((h) => [h.key, h.holder]).sort()).toEqual([
        [senderSlotLeaseKey(1), 'host:1:aa'],
        [senderSlotLeaseKey(2), 'host:2:bb'],
      ]);
      await a!.lease.release();
      const c = await take('host:3:cc');
      expect(c?.slot).toBe(1);
      await b!.lease.release();
      await c!.lease.release();
      expect(await store.holders()).toEqual([]);
    });
  });

  describe('the key a process delivers with (anvil)', () => {
    let anvil: AnvilProcess;
    let provider: JsonRpcProvider;
    const reg = (endpoints: string[]) => ({ chainId: 'eip155:4343', endpoints }) as unknown as ChainRegistration;
    beforeAll(async () => {
      anvil = await startAnvil({ chainId: 4343n });
      provider = makeProvider(anvil.url, 4343n, { pollingMs: 50 });
    });
    afterAll(async () => {
      provider?.destroy();
      await anvil?.stop();
    });

    it("uses the slot's key only where its address holds gas money, and the relayer key where it does not or no endpoint answers", async () => {
      const relayerKey = Wallet.createRandom().privateKey as Hex;
      const slot = { slot: 1, key: relayerSenderKey(relayerKey, 1), address: addressOf(relayerSenderKey(relayerKey, 1)), lease: null as never };
      const dead = 'http://127.0.0.1:9';
      expect(await senderKeyFor(reg([anvil.url]), slot, relayerKey, logger)).toBe(relayerKey);
      expect(await senderKeyFor(reg([dead]), slot, relayerKey, logger)).toBe(relayerKey);
      await new TxSender(ANVIL_DEV_KEY, provider).send({ to: slot.address, value: parseEther('1') });
      expect(await provider.getBalance(slot.address)).toBe(parseEther('1'));
      expect(await senderKeyFor(reg([anvil.url]), slot, relayerKey, logger)).toBe(slot.key);
      // An endpoint that does not answer is passed over for the next.
      expect(await senderKeyFor(reg([dead, anvil.url]), slot, relayerKey, logger)).toBe(slot.key);
    });
  });
});
