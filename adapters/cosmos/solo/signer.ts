import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Hex } from '../../../src/domain/hex.ts';
import { privateKeyBytes } from './keys.ts';
import { SoloEquivocationError, type SoloSignatureRecord } from './record.ts';

/**
 * One attestor key signing solo-machine sign bytes. Every signature is recorded (durably) under
 * (clientKey, sequence) first, so this key can never sign two payloads at one sequence, even
 * across restarts. The signature is Cosmos secp256k1: 64 bytes r||s, low S, over sha256(signBytes).
 */
export class SoloAttestor {
  readonly pubKey: Uint8Array;
  readonly #key: Uint8Array;

  constructor(key: Hex, private readonly record: SoloSignatureRecord) {
    this.#key = privateKeyBytes(key);
    this.pubKey = secp256k1.getPublicKey(this.#key, true);
  }

  /** Throws SoloEquivocationError for different bytes at a recorded sequence; same bytes give the same signature again (RFC 6979). */
  sign(clientKey: string, sequence: bigint, signBytes: Uint8Array): Uint8Array {
    const digest = sha256(signBytes);
    if (!this.record.put(clientKey, sequence, `0x${Buffer.from(digest).toString('hex')}`)) throw new SoloEquivocationError(clientKey, sequence);
    return secp256k1.sign(digest, this.#key, { prehash: false, lowS: true, format: 'compact' });
  }

  toJSON(): { pubKey: string } {
    return { pubKey: Buffer.from(this.pubKey).toString('hex') };
  }
}
