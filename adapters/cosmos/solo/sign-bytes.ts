import { HeaderData, SignBytes } from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { ValidationError } from '../../../src/errors.ts';

export type IbcVersion = 'v8' | 'v9';

/** The counterparty commitment prefix the hub declares for itself (its "store name"). */
export const HUB_PREFIX = 'ibc';
/** ibc-go's SentinelHeaderPath: the path a solo-machine header signs over. */
export const SENTINEL_HEADER_PATH = 'solomachine:header';

/**
 * The `path` field of solo-machine SignBytes for an ICS-24 key: the raw key at index 1 of the
 * MerklePath [prefix, key] — no prefix, no escaping. Both v8 and v9 do this (ibc-go v8.0.0 #4429
 * "remove IBC key from path of bytes signed by solomachine and not escape the path"; v7 signed
 * MerklePath.String(), "/ibc/connections%2Fconnection-0"). `ibcVersion` stays in the API because the
 * handshake's proofs differ between them (v8 ConnOpenAck also proves client and consensus state).
 */
export function signBytesPath(path: string, _ibcVersion: IbcVersion): Uint8Array {
  if (!path || path.startsWith('/')) throw new ValidationError('path', 'an ICS-24 path without prefix or leading "/"');
  return new TextEncoder().encode(path);
}

/** The marshalled `ibc.lightclients.solomachine.v3.SignBytes` of one (non-)membership proof. */
export function soloSignBytes(o: { sequence: bigint; timestamp: bigint; diversifier: string; path: string; value: Uint8Array | null; ibcVersion: IbcVersion }): Uint8Array {
  return SignBytes.encode({
    sequence: o.sequence,
    timestamp: o.timestamp,
    diversifier: o.diversifier,
    path: signBytesPath(o.path, o.ibcVersion),
    // gogoproto marshals nil and empty bytes alike (nothing): non-membership signs no data.
    data: o.value ?? new Uint8Array(0),
  }).finish();
}

/**
 * Sign bytes of a solo-machine Header (MsgUpdateClient): SignBytes{sequence, header timestamp,
 * current diversifier, path "solomachine:header", data = HeaderData{new key, new diversifier}}.
 * Same for v8 and v9.
 */
export function headerSignBytes(o: { sequence: bigint; timestamp: bigint; diversifier: string; newPublicKey: Any; newDiversifier: string }): Uint8Array {
  const data = HeaderData.encode({ newPubKey: o.newPublicKey, newDiversifier: o.newDiversifier }).finish();
  return SignBytes.encode({
    sequence: o.sequence,
    timestamp: o.timestamp,
    diversifier: o.diversifier,
    path: new TextEncoder().encode(SENTINEL_HEADER_PATH),
    data,
  }).finish();
}
