import type { GenericExtrinsic } from '@polkadot/types';
import type { Call } from '@polkadot/types/interfaces';
import { compactFromU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, signatureVerify } from '@polkadot/util-crypto';
import { u32le } from './grandpa.ts';
import type { Runtime } from './runtime.ts';

/**
 * Transaction validation as the runtime's signed extensions do it
 * (kitchensink spec 268: CheckNonZeroSender, CheckSpecVersion, CheckTxVersion,
 * CheckGenesis, CheckMortality, CheckNonce, CheckWeight, ChargeAssetTxPayment,
 * CheckMetadataHash). The signing payload is rebuilt from the RAW bytes of the
 * extrinsic (call ++ extra as sent) plus the "additional signed" data this
 * chain holds (spec/tx version, genesis hash, era birth block hash, metadata
 * hash = None), so the signature really covers what the chain executes.
 */
export class InvalidTransaction extends Error {
  constructor(
    readonly code: number,
    /** sc-rpc puts the reason in `data`; `message` is the class of error */
    readonly data: string,
    readonly short = code === 1010 ? 'Invalid Transaction' : 'Verification Error',
  ) {
    super(`${short}: ${data}`);
    this.name = 'InvalidTransaction';
  }
}

export interface CheckedExtrinsic {
  bytes: Uint8Array;
  hash: Uint8Array;
  signer: Uint8Array;
  nonce: number;
  call: Call;
}

export interface ValidationContext {
  runtime: Runtime;
  specVersion: number;
  genesisHash: Uint8Array;
  /** number of the block the transaction would land in */
  nextNumber: number;
  blockHashAt(n: number): Uint8Array | null;
  nonceOf(account: Uint8Array): number;
}

const bad = (data: string) => new InvalidTransaction(1010, data);

export function checkExtrinsic(ctx: ValidationContext, bytes: Uint8Array): CheckedExtrinsic {
  const { registry } = ctx.runtime;
  let ext: GenericExtrinsic;
  try {
    ext = registry.createType('Extrinsic', bytes) as unknown as GenericExtrinsic;
  } catch (e) {
    throw new InvalidTransaction(1002, `could not decode extrinsic: ${(e as Error).message}`);
  }
  if (ext.encodedLength !== bytes.length) throw new InvalidTransaction(1002, 'trailing bytes after the extrinsic');
  if (!ext.isSigned) throw bad('unsigned extrinsics are not accepted');
  if (ext.version !== 4 && (ext.version & 0x7f) !== 4) throw bad(`unsupported extrinsic version ${ext.version}`);
  const address = ext.signer.toU8a();
  // MultiAddress::Id (index 0) is the only sender form this runtime looks up
  if (address.length !== 33 || address[0] !== 0) throw bad('signer must be MultiAddress::Id');
  const signer = address.slice(1);
  if (signer.every((b) => b === 0)) throw bad('zero sender');

  const [prefixLen] = compactFromU8a(bytes);
  const body = bytes.subarray(prefixLen);
  const addrLen = address.length;
  // MultiSignature as sent: variant byte (0 ed25519, 1 sr25519, 2 ecdsa) ++ 64 or 65 bytes
  const variant = body[1 + addrLen];
  if (variant === undefined || variant > 2) throw bad('unknown signature type');
  const sigBytes = body.subarray(1 + addrLen, 1 + addrLen + (variant === 2 ? 66 : 65));
  const callBytes = ext.method.toU8a();
  const extraStart = 1 + addrLen + sigBytes.length;
  const extraEnd = body.length - callBytes.length;
  if (extraEnd <= extraStart) throw new InvalidTransaction(1002, 'malformed extrinsic');
  const extra = body.subarray(extraStart, extraEnd);
  if (extra[extra.length - 1] !== 0) throw bad('CheckMetadataHash mode must be Disabled on this test chain');

  // CheckMortality: the era's birth block must exist on this chain and the era must not be over
  let birthHash: Uint8Array | null;
  const era = ext.era;
  if (era.isImmortalEra) birthHash = ctx.blockHashAt(0);
  else {
    const m = era.asMortalEra;
    const period = m.period.toNumber();
    const phase = m.phase.toNumber();
    const current = ctx.nextNumber - 1;
    const birth = Math.floor((Math.max(current, phase) - phase) / period) * period + phase;
    if (ctx.nextNumber >= birth + period) throw bad('Transaction is outdated');
    birthHash = ctx.blockHashAt(birth);
  }
  if (!birthHash) throw bad('AncientBirthBlock');

  const additional = u8aConcat(u32le(ctx.specVersion), u32le(ctx.runtime.transactionVersion), ctx.genesisHash, birthHash, Uint8Array.of(0));
  const raw = u8aConcat(callBytes, extra, additional);
  const payload = raw.length > 256 ? blake2AsU8a(raw, 256) : raw;
  let valid = false;
  try {
    valid = signatureVerify(payload, sigBytes, signer).isValid;
  } catch {
    valid = false;
  }
  if (!valid) throw bad('Transaction has a bad signature');

  const nonce = ext.nonce.toNumber();
  if (nonce < ctx.nonceOf(signer)) throw bad('Transaction is outdated');
  return { bytes, hash: blake2AsU8a(bytes, 256), signer, nonce, call: ext.method as unknown as Call };
}

export function hexOf(u: Uint8Array): `0x${string}` {
  return u8aToHex(u);
}
