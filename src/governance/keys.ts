import { createHmac, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Wallet } from 'ethers';
import { ConfigError } from '../errors.ts';
import type { Hex } from '../domain/hex.ts';

/** The hub's own keys, generated at first start and kept in the data folder (mode 0600). */
export interface HubKeys {
  /** Deploys and governs the contracts (until a council contract takes over). */
  governor: Hex;
  /** Commits batches on the governance chain and pays delivery gas on member chains. */
  relayer: Hex;
  /** The embedded attestor's signing key. */
  attestor: Hex;
  /**
   * The demo liquidity provider of settlement corridors (its address is its account on every EVM chain).
   * Optional in the type so keys built by hand (tests) still compile; `loadOrCreateKeys` always fills it.
   */
  lp?: Hex;
  /**
   * Pays delivery gas on the governance chain when it is a member chain. Apart from `relayer`,
   * which commits batches there: two processes' nonce counters on one key would race.
   */
  govDeliverer?: Hex;
  /**
   * Sends the hub's cancel orders on the governance chain's QiaoPort (members without a trustworthy clock,
   * Fabric, cancel a timed-out message only on an attested order from this address). Its own key: a cancel
   * order must not be sendable by anything else the hub signs with.
   */
  timeoutAuthority?: Hex;
}

const NAMES = ['governor', 'relayer', 'attestor'] as const;
/** Keys added after the first release: generated and saved on the first start that lacks them. */
const LATER = ['lp', 'govDeliverer', 'timeoutAuthority'] as const;

async function writeKeys(file: string, keys: HubKeys): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(keys, null, 2), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

function newKey(): Hex {
  return `0x${randomBytes(32).toString('hex')}`;
}

export async function loadOrCreateKeys(file: string): Promise<{ keys: HubKeys; created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    // first start
  }
  if (text !== undefined) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      throw new ConfigError('keys', `${file} is not valid JSON`, { cause });
    }
    for (const n of NAMES) {
      const v = parsed[n];
      if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v)) throw new ConfigError(`keys.${n}`, `missing or malformed in ${file}`);
      // Throws for keys outside the curve order.
      new Wallet(v);
    }
    let added = false;
    for (const n of LATER) {
      const v = parsed[n];
      if (v === undefined) {
        parsed[n] = newKey();
        added = true;
        continue;
      }
      if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v)) throw new ConfigError(`keys.${n}`, `malformed in ${file}`);
      new Wallet(v);
    }
    const keys = parsed as unknown as HubKeys;
    if (added) await writeKeys(file, keys);
    return { keys, created: false };
  }
  const keys: HubKeys = { governor: newKey(), relayer: newKey(), attestor: newKey(), lp: newKey(), govDeliverer: newKey(), timeoutAuthority: newKey() };
  await writeKeys(file, keys);
  return { keys, created: true };
}

export function addressOf(key: Hex): string {
  return new Wallet(key).address;
}

/** The secp256k1 group order: a private key is an integer in [1, N). */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * The delivery key of relayer sender slot `slot` (1, 2, …): worker processes
 * each lease a slot and pay destination gas from its key, so no two processes
 * count nonces of one key. Derived from the relayer key (HMAC-SHA256, as
 * HKDF's extract step), so every process holding the hub's keys, and the hub
 * that funds them, computes the same addresses without a new secret to keep.
 */
export function relayerSenderKey(relayer: Hex, slot: number): Hex {
  if (!Number.isInteger(slot) || slot < 1 || slot > 1024) throw new ConfigError('relayer.senderSlots', `sender slot must be an integer from 1 to 1024, got ${slot}`);
  for (let counter = 0; ; counter++) {
    const d = createHmac('sha256', Buffer.from(relayer.slice(2), 'hex')).update(`qiao/relayer-sender/${slot}/${counter}`).digest('hex');
    // Out of range with probability ~2^-128: the next counter gives another candidate.
    const k = BigInt(`0x${d}`);
    if (k > 0n && k < SECP256K1_N) return `0x${d}`;
  }
}

/** Addresses of sender slots 1..`slots` (what an operator funds on every EVM member chain). */
export function relayerSenderAddresses(relayer: Hex, slots: number): string[] {
  return Array.from({ length: slots }, (_, i) => addressOf(relayerSenderKey(relayer, i + 1)));
}
