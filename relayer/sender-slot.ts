import type { Logger } from '../src/logging.ts';
import type { ChainRegistration } from '../src/domain/chain.ts';
import type { Hex } from '../src/domain/hex.ts';
import { parseEvmChainId } from '../src/domain/caip.ts';
import { redactUrl } from '../src/errors.ts';
import { makeProvider } from '../src/evm/provider.ts';
import { addressOf, relayerSenderKey } from '../src/governance/keys.ts';
import { keepLease, type HeldLease, type LeaseStore } from './lease.ts';

/** The lease key of a sender slot (under the queue backend's prefix; `qiao relayer status` lists it). */
export const senderSlotLeaseKey = (slot: number) => `sender:${slot}`;

export interface SenderSlot {
  slot: number;
  /** The slot's delivery key (never logged). */
  key: Hex;
  address: string;
  lease: HeldLease;
}

/**
 * Takes the first free sender slot of 1..`slots`, so this process pays EVM
 * delivery gas from a key no other process sends from: two processes counting
 * one key's nonces each send the next nonce, and one of them is refused or,
 * with a higher fee, replaces the other's delivery (both then retried, seen as
 * the latency tail of two workers). Null when every slot is held: the caller
 * sends from the shared relayer key, as before slots, where such clashes are
 * retried.
 *
 * The lease is for throughput, not safety: the port refuses a second delivery
 * of an id whatever key sends it. A process whose lease lapses (Redis away
 * longer than the TTL) keeps its key and says so; should another process take
 * the slot meanwhile, their clashes are retried as with a shared key.
 */
export async function takeSenderSlot(
  store: LeaseStore,
  o: { relayerKey: Hex; slots: number; holder: string; ttlMs: number; renewEveryMs?: number; logger: Logger },
): Promise<SenderSlot | null> {
  for (let slot = 1; slot <= o.slots; slot++) {
    const grant = await store.acquire(senderSlotLeaseKey(slot), o.holder, o.ttlMs);
    if (!grant) continue;
    const key = relayerSenderKey(o.relayerKey, slot);
    const address = addressOf(key);
    const logger = o.logger.child({ senderSlot: slot, sender: address });
    const lease = keepLease(store, grant, {
      ttlMs: o.ttlMs,
      ...(o.renewEveryMs ? { renewEveryMs: o.renewEveryMs } : {}),
      logger,
      onLost: () => logger.warn('sender slot lease lost: still sending from its key; a process that takes the slot meanwhile shares the nonces (clashes are retried)'),
    });
    return { slot, key, address, lease };
  }
  return null;
}

/**
 * The key this process delivers with on an EVM chain: its slot's where that
 * address holds gas money, the relayer key otherwise (a slot nobody funded on
 * this chain, or no endpoint answered): a delivery from an empty account would
 * fail on every retry, the relayer key is the one every hub funds.
 */
export async function senderKeyFor(reg: ChainRegistration, slot: SenderSlot, relayerKey: Hex, logger: Logger): Promise<Hex> {
  const log = logger.child({ chain: reg.chainId, senderSlot: slot.slot, sender: slot.address });
  const numericId = parseEvmChainId(reg.chainId);
  let lastErr: unknown;
  for (const url of reg.endpoints) {
    const p = makeProvider(url, numericId, { timeoutMs: 5000 });
    try {
      if ((await p.getBalance(slot.address)) > 0n) return slot.key;
      log.warn('sender slot address holds nothing on this chain: delivering from the relayer key (fund the address to give this process its own nonces)');
      return relayerKey;
    } catch (err) {
      lastErr = err;
      log.debug({ err, endpoint: redactUrl(url) }, 'balance read failed; trying the next endpoint');
    } finally {
      p.destroy();
    }
  }
  log.warn({ err: lastErr }, 'could not read the sender slot balance at any endpoint: delivering from the relayer key');
  return relayerKey;
}
