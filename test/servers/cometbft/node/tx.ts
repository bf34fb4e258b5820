import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { AuthInfo, SignDoc, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { secp256k1Address } from './address.ts';
import { ModuleError, type Coin } from './module.ts';
import { SDK } from './bank.ts';

export interface DecodedTx {
  raw: TxRaw;
  body: TxBody;
  authInfo: AuthInfo;
  messages: Any[];
  signers: { address: string; pubKey: Uint8Array; sequence: bigint; signature: Uint8Array }[];
  fee: Coin[];
  gasLimit: bigint;
  feePayer: string;
}

/** TxRaw -> body, auth info and signers, as the SDK's tx decoder + ante's pubkey handling see them. */
export function decodeTx(bytes: Uint8Array, knownTypeUrls: ReadonlySet<string>): DecodedTx {
  let raw: TxRaw;
  let body: TxBody;
  let authInfo: AuthInfo;
  try {
    raw = TxRaw.decode(bytes);
    body = TxBody.decode(raw.bodyBytes);
    authInfo = AuthInfo.decode(raw.authInfoBytes);
  } catch (e) {
    throw new ModuleError(SDK, 2, `${(e as Error).message}: tx parse error`);
  }
  if (body.messages.length === 0) throw new ModuleError(SDK, 18, 'must contain at least one message: invalid request');
  for (const m of body.messages) {
    if (!knownTypeUrls.has(m.typeUrl)) throw new ModuleError(SDK, 2, `unable to resolve type URL ${m.typeUrl}: tx parse error`);
  }
  if (authInfo.signerInfos.length === 0) throw new ModuleError(SDK, 4, 'no signatures supplied: unauthorized');
  if (raw.signatures.length !== authInfo.signerInfos.length) {
    throw new ModuleError(SDK, 4, `wrong number of signatures; expected ${authInfo.signerInfos.length}, got ${raw.signatures.length}: unauthorized`);
  }
  const signers = authInfo.signerInfos.map((si, i) => {
    if (si.publicKey?.typeUrl !== '/cosmos.crypto.secp256k1.PubKey') {
      throw new ModuleError(SDK, 8, `unsupported public key type ${si.publicKey?.typeUrl ?? 'none'}: invalid pubkey`);
    }
    const pubKey = PubKey.decode(si.publicKey.value).key;
    return { address: secp256k1Address(pubKey), pubKey, sequence: si.sequence, signature: raw.signatures[i]! };
  });
  const fee = (authInfo.fee?.amount ?? []).map((c) => ({ denom: c.denom, amount: c.amount }));
  const feePayer = authInfo.fee?.payer || signers[0]!.address;
  return { raw, body, authInfo, messages: body.messages, signers, fee, gasLimit: authInfo.fee?.gasLimit ?? 0n, feePayer };
}

/** SIGN_MODE_DIRECT: secp256k1 (low-S) over sha256(SignDoc). */
export function verifyDirectSignature(tx: DecodedTx, index: number, chainId: string, accountNumber: bigint): boolean {
  const si = tx.authInfo.signerInfos[index]!;
  if (si.modeInfo?.single?.mode !== SignMode.SIGN_MODE_DIRECT) return false;
  const s = tx.signers[index]!;
  if (s.signature.length !== 64) return false;
  const doc = SignDoc.encode({ bodyBytes: tx.raw.bodyBytes, authInfoBytes: tx.raw.authInfoBytes, chainId, accountNumber }).finish();
  try {
    return secp256k1.verify(s.signature, sha256(doc), s.pubKey, { prehash: false, lowS: true });
  } catch {
    return false;
  }
}
