import { MerklePath } from 'cosmjs-types/ibc/core/commitment/v2/commitment';
import {
  ClientState,
  ConsensusState,
  Header,
  HeaderData,
  Misbehaviour,
  SignBytes,
  type SignatureAndData,
  TimestampedSignatureData,
} from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { ibcError, unregisteredError } from './errors.ts';
import { clientStatePath, SENTINEL_HEADER_PATH } from './paths.ts';
import { decodePublicKey, decodeSignatureData, verifySignature, type PublicKey } from './signature.ts';
import type { Store } from './store.ts';
import { ModuleError } from '../node/module.ts';

export const SOLOMACHINE_CLIENT_STATE_URL = '/ibc.lightclients.solomachine.v3.ClientState';
export const SOLOMACHINE_CONSENSUS_STATE_URL = '/ibc.lightclients.solomachine.v3.ConsensusState';
export const SOLOMACHINE_HEADER_URL = '/ibc.lightclients.solomachine.v3.Header';
export const SOLOMACHINE_MISBEHAVIOUR_URL = '/ibc.lightclients.solomachine.v3.Misbehaviour';
export const SOLOMACHINE_TYPE = '06-solomachine';

const enc = new TextEncoder();

export function encodeClientStateAny(cs: ClientState): Uint8Array {
  return Any.encode({ typeUrl: SOLOMACHINE_CLIENT_STATE_URL, value: ClientState.encode(cs).finish() }).finish();
}

export function loadClientState(store: Store, clientId: string): ClientState {
  const raw = store.get(clientStatePath(clientId));
  if (!raw) throw ibcError('clientNotFound', `clientID (${clientId})`);
  const any = Any.decode(raw);
  if (any.typeUrl !== SOLOMACHINE_CLIENT_STATE_URL) throw ibcError('invalidClientType', `client ${clientId} is ${any.typeUrl}`);
  return ClientState.decode(any.value);
}

export function saveClientState(store: Store, clientId: string, cs: ClientState): void {
  store.set(clientStatePath(clientId), encodeClientStateAny(cs));
}

/** ConsensusState.ValidateBasic of ibc-go. */
export function validateConsensusState(c: ConsensusState | undefined): PublicKey {
  if (!c) throw ibcError('invalidConsensus', 'consensus state cannot be nil');
  if (c.timestamp === 0n) throw ibcError('invalidConsensus', 'timestamp cannot be 0');
  if (c.diversifier !== '' && c.diversifier.trim() === '') throw ibcError('invalidConsensus', 'diversifier cannot contain only spaces');
  const pk = decodePublicKey(c.publicKey);
  if (!pk) throw ibcError('invalidConsensus', 'public key cannot be empty or of an unsupported type');
  return pk;
}

function requireActive(cs: ClientState, clientId: string): void {
  if (cs.isFrozen) throw ibcError('clientNotActive', `client (${clientId}) status is Frozen`);
}

function checkSignature(pk: PublicKey, signBytes: Uint8Array, sigBytes: Uint8Array): void {
  const data = decodeSignatureData(sigBytes);
  if (!data) throw ibcError('smInvalidSignatureAndData', 'failed to unmarshal signature data');
  const v = verifySignature(pk, signBytes, data);
  if (v.ok) return;
  // cosmos-sdk's multisig check returns plain (unregistered) errors; the single-key check a registered one.
  if (pk.kind === 'multisig' && data.multi) throw unregisteredError(v.reason);
  throw ibcError('smSignatureVerificationFailed', v.reason);
}

/**
 * VerifyMembership / VerifyNonMembership of ibc-go 06-solomachine (v8/v9): the proof is a
 * TimestampedSignatureData over SignBytes{client sequence, proof timestamp, diversifier,
 * path = the ICS-24 key (MerklePath key 1), data = value or empty}; the proof height is not used.
 * On success the sequence moves on by one and the consensus timestamp becomes the proof's.
 */
export function verifySoloProof(
  store: Store,
  clientId: string,
  proof: Uint8Array,
  path: string,
  value: Uint8Array | undefined,
  /** model gap: the signed value is unknown (v8 self consensus state without header history) */
  unchecked = false,
): void {
  const cs = loadClientState(store, clientId);
  requireActive(cs, clientId);
  const consensus = cs.consensusState;
  if (!consensus) throw ibcError('invalidConsensus', 'consensus state cannot be nil');
  if (proof.length === 0) throw ibcError('smInvalidProof', 'proof cannot be empty');
  let tsd: TimestampedSignatureData;
  try {
    tsd = TimestampedSignatureData.decode(proof);
  } catch {
    throw unregisteredError('failed to unmarshal proof into type TimestampedSignatureData');
  }
  if (tsd.signatureData.length === 0) throw ibcError('smInvalidProof', 'signature data cannot be empty');
  if (consensus.timestamp > tsd.timestamp) {
    throw ibcError(
      'smInvalidProof',
      `the consensus state timestamp is greater than the signature timestamp (${consensus.timestamp} >= ${tsd.timestamp})`,
    );
  }
  const pk = validateConsensusState(consensus);
  const signBytes = SignBytes.encode({
    sequence: cs.sequence,
    timestamp: tsd.timestamp,
    diversifier: consensus.diversifier,
    path: enc.encode(path),
    data: value ?? new Uint8Array(),
  }).finish();
  if (unchecked) {
    if (!decodeSignatureData(tsd.signatureData)) throw ibcError('smInvalidSignatureAndData', 'failed to unmarshal signature data');
  } else {
    checkSignature(pk, signBytes, tsd.signatureData);
  }
  cs.sequence += 1n;
  consensus.timestamp = tsd.timestamp;
  saveClientState(store, clientId, cs);
}

/** The timestamp a proof is checked against for timeouts: the consensus timestamp, before verification. */
export function soloTimestamp(store: Store, clientId: string): bigint {
  return loadClientState(store, clientId).consensusState?.timestamp ?? 0n;
}

/** Header path of UpdateClient: the current key signs the new key and diversifier. */
export function updateWithHeader(store: Store, clientId: string, header: Header): ClientState {
  const cs = loadClientState(store, clientId);
  if (cs.isFrozen) throw ibcError('clientNotActive', `cannot update client (${clientId}) with status Frozen`);
  const consensus = cs.consensusState;
  if (!consensus) throw ibcError('invalidConsensus', 'consensus state cannot be nil');
  if (header.timestamp === 0n) throw ibcError('smInvalidHeader', 'timestamp cannot be zero');
  if (header.newDiversifier !== '' && header.newDiversifier.trim() === '') {
    throw ibcError('smInvalidHeader', 'diversifier cannot contain only spaces');
  }
  if (header.signature.length === 0) throw ibcError('smInvalidHeader', 'signature cannot be empty');
  if (!decodePublicKey(header.newPublicKey)) throw ibcError('smInvalidHeader', 'new public key cannot be empty or unsupported');
  if (header.timestamp < consensus.timestamp) {
    throw ibcError(
      'invalidHeader',
      `header timestamp is less than to the consensus state timestamp (${header.timestamp} < ${consensus.timestamp})`,
    );
  }
  const data = HeaderData.encode({ newPubKey: header.newPublicKey, newDiversifier: header.newDiversifier }).finish();
  const signBytes = SignBytes.encode({
    sequence: cs.sequence,
    timestamp: header.timestamp,
    diversifier: consensus.diversifier,
    path: enc.encode(SENTINEL_HEADER_PATH),
    data,
  }).finish();
  const pk = validateConsensusState(consensus);
  try {
    checkSignature(pk, signBytes, header.signature);
  } catch (e) {
    throw ibcError('smInvalidHeader', e instanceof Error ? e.message : String(e));
  }
  const next: ClientState = {
    sequence: cs.sequence + 1n,
    isFrozen: false,
    consensusState: { publicKey: header.newPublicKey, diversifier: header.newDiversifier, timestamp: header.timestamp },
  };
  saveClientState(store, clientId, next);
  return next;
}

function validateSignatureAndData(sd: SignatureAndData | undefined, which: string): SignatureAndData {
  if (!sd) throw ibcError('smInvalidSignatureAndData', `signature ${which} cannot be nil`);
  if (sd.signature.length === 0) throw ibcError('smInvalidSignatureAndData', `signature ${which}: signature cannot be empty`);
  if (sd.data.length === 0) throw ibcError('smInvalidSignatureAndData', `signature ${which}: data for signature cannot be empty`);
  if (sd.path.length === 0) throw ibcError('smInvalidSignatureAndData', `signature ${which}: path for signature cannot be empty`);
  if (sd.timestamp === 0n) throw ibcError('smInvalidSignatureAndData', `signature ${which}: timestamp cannot be 0`);
  return sd;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/**
 * Misbehaviour: two valid signatures by the current key at one sequence over different
 * (path, data) freeze the client. Timestamps are not checked (past misbehaviour counts).
 */
export function submitMisbehaviour(store: Store, clientId: string, mb: Misbehaviour): void {
  const cs = loadClientState(store, clientId);
  if (cs.isFrozen) throw ibcError('clientNotActive', `cannot update client (${clientId}) with status Frozen`);
  if (mb.sequence === 0n) throw ibcError('invalidMisbehaviour', 'sequence cannot be 0');
  const one = validateSignatureAndData(mb.signatureOne, 'one');
  const two = validateSignatureAndData(mb.signatureTwo, 'two');
  if (sameBytes(one.signature, two.signature)) throw ibcError('invalidMisbehaviour', 'misbehaviour signatures cannot be equal');
  if (sameBytes(one.path, two.path) && sameBytes(one.data, two.data)) {
    throw ibcError('invalidMisbehaviour', 'misbehaviour signature data must be signed over different messages');
  }
  const consensus = cs.consensusState;
  const pk = validateConsensusState(consensus);
  for (const [sd, which] of [
    [one, 'one'],
    [two, 'two'],
  ] as const) {
    try {
      MerklePath.decode(sd.path);
    } catch {
      throw unregisteredError(`failed to verify signature ${which}: path is not a MerklePath`);
    }
    const signBytes = SignBytes.encode({
      sequence: mb.sequence,
      timestamp: sd.timestamp,
      diversifier: consensus?.diversifier ?? '',
      path: sd.path,
      data: sd.data,
    }).finish();
    try {
      checkSignature(pk, signBytes, sd.signature);
    } catch (e) {
      if (e instanceof ModuleError) throw new ModuleError(e.codespace, e.code, `failed to verify signature ${which}: ${e.message}`);
      throw e;
    }
  }
  cs.isFrozen = true;
  saveClientState(store, clientId, cs);
}

export { ClientState, ConsensusState, Header, Misbehaviour };
