/**
 * Envelopes and endorser transactions: the parts a verifier needs, each kept
 * with the exact bytes its signature covers.
 */
import { bytesField, decode, intField, numField, repeatedBytes, stringField, type PbFields } from './pb.ts';

export const HEADER_TYPE_CONFIG = 1;
export const HEADER_TYPE_ENDORSER_TRANSACTION = 3;

export interface SerializedIdentity {
  mspId: string;
  /** PEM certificate (X.509 MSPs). */
  idBytes: Uint8Array;
  /** The serialized `msp.SerializedIdentity`, as IDENTITY principals compare it. */
  raw: Uint8Array;
}

export interface ParsedEnvelope {
  payload: Uint8Array;
  signature: Uint8Array;
  headerType: number;
  channelId: string;
  txId: string;
  /** Seconds since the epoch of the channel header timestamp (0 when absent). */
  timestamp: number;
  creator: SerializedIdentity | null;
  /** Payload.data: a ConfigEnvelope for CONFIG, a Transaction for ENDORSER_TRANSACTION. */
  data: Uint8Array;
  channelHeaderBytes: Uint8Array;
  signatureHeaderBytes: Uint8Array;
  nonce: Uint8Array;
}

export function decodeIdentity(raw: Uint8Array): SerializedIdentity {
  const m = decode(raw);
  return { mspId: stringField(m, 1), idBytes: bytesField(m, 2), raw };
}

export function decodeEnvelope(bytes: Uint8Array): ParsedEnvelope {
  const env = decode(bytes);
  const payload = bytesField(env, 1);
  const p = decode(payload);
  const header = decode(bytesField(p, 1));
  const channelHeaderBytes = bytesField(header, 1);
  const signatureHeaderBytes = bytesField(header, 2);
  const ch = decode(channelHeaderBytes);
  const sh = decode(signatureHeaderBytes);
  const creatorRaw = bytesField(sh, 1);
  const ts = bytesField(ch, 3);
  return {
    payload,
    signature: bytesField(env, 2),
    headerType: numField(ch, 1),
    channelId: stringField(ch, 4),
    txId: stringField(ch, 5),
    timestamp: ts.length ? numField(decode(ts), 1) : 0,
    creator: creatorRaw.length ? decodeIdentity(creatorRaw) : null,
    data: bytesField(p, 2),
    channelHeaderBytes,
    signatureHeaderBytes,
    nonce: bytesField(sh, 2),
  };
}

export interface Endorsement {
  endorser: SerializedIdentity;
  signature: Uint8Array;
}

export interface KVWrite {
  key: string;
  isDelete: boolean;
  value: Uint8Array;
}

export interface HashedWrite {
  keyHash: Uint8Array;
  isDelete: boolean;
  valueHash: Uint8Array;
}

export interface CollectionRWSet {
  collection: string;
  hashedWrites: HashedWrite[];
  /** SHA-256 of the private rwset, held off-chain by the collection's members. */
  pvtRwsetHash: Uint8Array;
}

export interface NsRWSet {
  namespace: string;
  writes: KVWrite[];
  readKeys: string[];
  /** Keys whose metadata (e.g. a key-level VALIDATION_PARAMETER) is written. */
  metadataWrites: { key: string; entries: { name: string; value: Uint8Array }[] }[];
  collections: CollectionRWSet[];
}

export interface EndorsedAction {
  /** ChaincodeProposalPayload as committed (transient data removed). */
  chaincodeProposalPayload: Uint8Array;
  /** SHA-256(channel header || signature header || chaincode proposal payload) the endorsers saw. */
  proposalHash: Uint8Array;
  /** The bytes every endorser signed (followed by its serialized identity). */
  proposalResponsePayload: Uint8Array;
  endorsements: Endorsement[];
  chaincode: { name: string; version: string };
  rwsets: NsRWSet[];
  response: { status: number; message: string; payload: Uint8Array };
}

function decodeKVRWSet(bytes: Uint8Array): Pick<NsRWSet, 'writes' | 'readKeys' | 'metadataWrites'> {
  const m = decode(bytes);
  return {
    readKeys: repeatedBytes(m, 1).map((r) => stringField(decode(r), 1)),
    writes: repeatedBytes(m, 3).map((w) => {
      const f = decode(w);
      return { key: stringField(f, 1), isDelete: intField(f, 2) !== 0n, value: bytesField(f, 3) };
    }),
    metadataWrites: repeatedBytes(m, 4).map((w) => {
      const f = decode(w);
      return {
        key: stringField(f, 1),
        entries: repeatedBytes(f, 2).map((e) => {
          const g = decode(e);
          return { name: stringField(g, 1), value: bytesField(g, 2) };
        }),
      };
    }),
  };
}

/** rwset.TxReadWriteSet → public writes and private-data hashes per namespace. */
export function decodeTxRWSet(bytes: Uint8Array): NsRWSet[] {
  const m = decode(bytes);
  return repeatedBytes(m, 2).map((ns) => {
    const n = decode(ns);
    return {
      namespace: stringField(n, 1),
      ...decodeKVRWSet(bytesField(n, 2)),
      collections: repeatedBytes(n, 3).map((c) => {
        const cm = decode(c);
        const hashed = decode(bytesField(cm, 2));
        return {
          collection: stringField(cm, 1),
          pvtRwsetHash: bytesField(cm, 3),
          hashedWrites: repeatedBytes(hashed, 2).map((w) => {
            const f = decode(w);
            return { keyHash: bytesField(f, 1), isDelete: intField(f, 2) !== 0n, valueHash: bytesField(f, 3) };
          }),
        };
      }),
    };
  });
}

/** peer.ProposalResponsePayload → the ChaincodeAction it carries. */
export function decodeProposalResponsePayload(prp: Uint8Array): Pick<EndorsedAction, 'chaincode' | 'rwsets' | 'response' | 'proposalHash'> {
  const outer = decode(prp);
  const action = decode(bytesField(outer, 2));
  const resp: PbFields = decode(bytesField(action, 3));
  const ccid = decode(bytesField(action, 4));
  return {
    rwsets: decodeTxRWSet(bytesField(action, 1)),
    response: { status: numField(resp, 1), message: stringField(resp, 2), payload: bytesField(resp, 3) },
    chaincode: { name: stringField(ccid, 2), version: stringField(ccid, 3) },
    proposalHash: bytesField(outer, 1),
  };
}

/** peer.Transaction → each action's endorsed part. */
export function decodeEndorserTransaction(data: Uint8Array): EndorsedAction[] {
  return repeatedBytes(decode(data), 1).map((ta) => {
    const cap = decode(bytesField(decode(ta), 2));
    const cea = decode(bytesField(cap, 2));
    const prp = bytesField(cea, 1);
    return {
      chaincodeProposalPayload: bytesField(cap, 1),
      proposalResponsePayload: prp,
      endorsements: repeatedBytes(cea, 2).map((e) => {
        const f = decode(e);
        return { endorser: decodeIdentity(bytesField(f, 1)), signature: bytesField(f, 2) };
      }),
      ...decodeProposalResponsePayload(prp),
    };
  });
}
