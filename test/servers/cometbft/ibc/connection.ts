import { Any } from 'cosmjs-types/google/protobuf/any';
import {
  ClientPaths,
  ConnectionEnd,
  State as ConnState,
  stateToJSON as connStateToJSON,
  type Version,
} from 'cosmjs-types/ibc/core/connection/v1/connection';
import { MsgConnectionOpenAck, MsgConnectionOpenInit } from 'cosmjs-types/ibc/core/connection/v1/tx';
import { ClientState as TmClientState, ConsensusState as TmConsensusState } from 'cosmjs-types/ibc/lightclients/tendermint/v1/tendermint';
import { type Env, revisionOf } from './env.ts';
import { ibcError, wrap } from './errors.ts';
import { clientConnectionsPath, clientStatePath, connectionPath, consensusStatePath, NEXT_CONNECTION_SEQUENCE } from './paths.ts';
import { loadClientState, verifySoloProof } from './solomachine.ts';

export const COMMITMENT_PREFIX = 'ibc';
export const ORDER_FEATURES = ['ORDER_ORDERED', 'ORDER_UNORDERED'];
export const DEFAULT_VERSION: Version = { identifier: '1', features: ORDER_FEATURES };
const TENDERMINT_CLIENT_STATE_URL = '/ibc.lightclients.tendermint.v1.ClientState';
const TENDERMINT_CONSENSUS_STATE_URL = '/ibc.lightclients.tendermint.v1.ConsensusState';
const enc = new TextEncoder();

/** IsSupportedVersion: same identifier as one of `supported`, features a subset of it. */
function isSupported(supported: Version[], v: Version | undefined): boolean {
  if (!v) return false;
  const s = supported.find((x) => x.identifier === v.identifier);
  return !!s && v.features.length > 0 && v.features.every((f) => s.features.includes(f));
}

export function loadConnection(env: Env, connectionId: string): ConnectionEnd {
  const raw = env.store.get(connectionPath(connectionId));
  if (!raw) throw ibcError('connectionNotFound', connectionId);
  return ConnectionEnd.decode(raw);
}

function requireActiveClient(env: Env, clientId: string): void {
  const cs = loadClientState(env.store, clientId);
  if (cs.isFrozen) throw ibcError('clientNotActive', `client (${clientId}) status is Frozen`);
}

function connectionAttrs(connectionId: string, c: ConnectionEnd): [string, string][] {
  return [
    ['connection_id', connectionId],
    ['client_id', c.clientId],
    ['counterparty_client_id', c.counterparty.clientId],
    ['counterparty_connection_id', c.counterparty.connectionId],
  ];
}

/** ConnOpenInit: this chain starts the handshake over its solo machine client of the hub. */
export function connOpenInit(env: Env, bytes: Uint8Array): void {
  const msg = MsgConnectionOpenInit.decode(bytes);
  const cp = msg.counterparty;
  if (!msg.clientId) throw ibcError('invalidRequest', 'client identifier cannot be empty');
  if (!cp?.clientId) throw ibcError('invalidConnectionCounterparty', 'counterparty client identifier cannot be empty');
  if (cp.connectionId !== '') throw ibcError('invalidConnectionCounterparty', 'counterparty connection identifier must be empty');
  if (!cp.prefix || cp.prefix.keyPrefix.length === 0) throw ibcError('invalidConnectionCounterparty', 'counterparty prefix cannot be empty');
  let versions: Version[] = [DEFAULT_VERSION];
  if (msg.version) {
    if (!isSupported([DEFAULT_VERSION], msg.version)) throw ibcError('invalidConnectionVersion', 'version is not supported');
    versions = [msg.version];
  }
  requireActiveClient(env, msg.clientId);
  const n = env.store.getU64(NEXT_CONNECTION_SEQUENCE) ?? 0n;
  const connectionId = `connection-${n}`;
  env.store.setU64(NEXT_CONNECTION_SEQUENCE, n + 1n);
  const pathsRaw = env.store.get(clientConnectionsPath(msg.clientId));
  const paths = pathsRaw ? ClientPaths.decode(pathsRaw).paths : [];
  env.store.set(clientConnectionsPath(msg.clientId), ClientPaths.encode({ paths: [...paths, connectionId] }).finish());
  const end: ConnectionEnd = { clientId: msg.clientId, versions, state: ConnState.STATE_INIT, counterparty: cp, delayPeriod: msg.delayPeriod };
  env.store.set(connectionPath(connectionId), ConnectionEnd.encode(end).finish());
  env.ctx.emit('connection_open_init', connectionAttrs(connectionId, end));
  env.ctx.emit('message', [['module', 'ibc_connection']]);
}

/** v8 ValidateSelfClient: the hub's tendermint client of this chain must describe this chain. */
function validateSelfClient(env: Env, any: Any): TmClientState {
  if (any.typeUrl !== TENDERMINT_CLIENT_STATE_URL) throw ibcError('invalidClient', `client must be a Tendermint client, expected: ${TENDERMINT_CLIENT_STATE_URL}, got: ${any.typeUrl}`);
  const tm = TmClientState.decode(any.value);
  const rev = revisionOf(env.cfg.chainId);
  if (tm.frozenHeight && (tm.frozenHeight.revisionNumber !== 0n || tm.frozenHeight.revisionHeight !== 0n)) {
    throw ibcError('clientFrozen', 'counterparty client is frozen');
  }
  if (tm.chainId !== env.cfg.chainId) throw ibcError('invalidClient', `invalid chain-id. expected: ${env.cfg.chainId}, got: ${tm.chainId}`);
  if (tm.latestHeight.revisionNumber !== rev) {
    throw ibcError('invalidClient', `client is not in the same revision as the chain. expected revision: ${rev}, got: ${tm.latestHeight.revisionNumber}`);
  }
  if (tm.latestHeight.revisionHeight >= env.ctx.height) {
    throw ibcError('invalidClient', `client has LatestHeight ${rev}-${tm.latestHeight.revisionHeight} greater than or equal to chain height ${rev}-${env.ctx.height}`);
  }
  const { numerator: num, denominator: den } = tm.trustLevel;
  if (den === 0n || num * 3n < den || num > den) throw ibcError('invalidClient', 'trust-level invalid');
  if (tm.unbondingPeriod.seconds !== env.cfg.unbondingPeriodSeconds || tm.unbondingPeriod.nanos !== 0) {
    throw ibcError('invalidClient', `invalid unbonding period. expected: ${env.cfg.unbondingPeriodSeconds}s, got: ${tm.unbondingPeriod.seconds}s`);
  }
  if (tm.unbondingPeriod.seconds < tm.trustingPeriod.seconds) throw ibcError('invalidClient', 'unbonding period must be greater than trusting period');
  if (tm.proofSpecs.length !== 2) throw ibcError('invalidClient', 'client has invalid proof specs');
  if (tm.upgradePath.length !== 0 && (tm.upgradePath.length !== 2 || tm.upgradePath[0] !== 'upgrade' || tm.upgradePath[1] !== 'upgradedIBCState')) {
    throw ibcError('invalidClient', 'upgrade path is not the expected one');
  }
  return tm;
}

/**
 * ConnOpenAck. Both versions verify proof_try (the hub's ConnectionEnd in TRYOPEN). ibc-go v8
 * also verifies proof_client and proof_consensus, each consuming one solo machine sequence, in
 * that order; v9 dropped those checks (the fields are deprecated and ignored).
 */
export function connOpenAck(env: Env, bytes: Uint8Array): void {
  const msg = MsgConnectionOpenAck.decode(bytes);
  const v8 = env.cfg.ibcVersion === 'v8';
  if (msg.proofTry.length === 0) throw ibcError('commitmentInvalidProof', 'cannot submit an empty proof');
  if (!msg.version) throw ibcError('invalidConnectionVersion', 'version cannot be nil');
  if (v8) {
    if (!msg.clientState) throw ibcError('invalidClient', 'counterparty client state cannot be nil');
    if (msg.proofClient.length === 0 || msg.proofConsensus.length === 0) throw ibcError('commitmentInvalidProof', 'cannot submit an empty proof');
    if (msg.consensusHeight.revisionHeight === 0n && msg.consensusHeight.revisionNumber === 0n) {
      throw ibcError('clientInvalidHeight', 'must submit a valid consensus height');
    }
    const rev = revisionOf(env.cfg.chainId);
    const ch = msg.consensusHeight;
    if (ch.revisionNumber > rev || (ch.revisionNumber === rev && ch.revisionHeight >= env.ctx.height)) {
      throw ibcError('invalidHeight', `consensus height is greater than or equal to the current block height (${ch.revisionNumber}-${ch.revisionHeight} >= ${rev}-${env.ctx.height})`);
    }
  }
  const connection = loadConnection(env, msg.connectionId);
  if (connection.state !== ConnState.STATE_INIT) {
    throw ibcError('invalidConnectionState', `connection state is not INIT (got ${connStateToJSON(connection.state)})`);
  }
  if (!isSupported(connection.versions, msg.version)) {
    throw ibcError('invalidConnectionState', 'the counterparty selected version is not supported by versions selected on INIT');
  }
  let selfConsensus: Uint8Array | undefined;
  if (v8 && msg.clientState) {
    validateSelfClient(env, msg.clientState);
    const h = msg.consensusHeight.revisionHeight;
    if (msg.consensusHeight.revisionNumber !== revisionOf(env.cfg.chainId)) {
      throw ibcError('selfConsensusStateNotFound', `consensus height revision ${msg.consensusHeight.revisionNumber} is not this chain's`);
    }
    const self = env.cfg.selfConsensusState?.(h);
    if (env.cfg.selfConsensusState && !self) throw ibcError('selfConsensusStateNotFound', `self consensus state not found for height ${msg.consensusHeight.revisionNumber}-${h}`);
    if (self) {
      selfConsensus = Any.encode({
        typeUrl: TENDERMINT_CONSENSUS_STATE_URL,
        value: TmConsensusState.encode({ timestamp: self.timestamp, root: { hash: self.appHash }, nextValidatorsHash: self.nextValidatorsHash }).finish(),
      }).finish();
    }
  }
  const expected = ConnectionEnd.encode({
    clientId: connection.counterparty.clientId,
    versions: [msg.version],
    state: ConnState.STATE_TRYOPEN,
    counterparty: { clientId: connection.clientId, connectionId: msg.connectionId, prefix: { keyPrefix: enc.encode(COMMITMENT_PREFIX) } },
    delayPeriod: connection.delayPeriod,
  }).finish();
  const clientId = connection.clientId;
  try {
    verifySoloProof(env.store, clientId, msg.proofTry, connectionPath(msg.counterpartyConnectionId), expected);
  } catch (e) {
    throw wrap(e, `failed connection state verification for client (${clientId})`);
  }
  if (v8 && msg.clientState) {
    const cpClient = connection.counterparty.clientId;
    try {
      verifySoloProof(env.store, clientId, msg.proofClient, clientStatePath(cpClient), Any.encode(msg.clientState).finish());
    } catch (e) {
      throw wrap(e, `failed client state verification for target client (${clientId})`);
    }
    const ch = msg.consensusHeight;
    try {
      // Without the node's header history the value cannot be rebuilt; the proof is then only
      // checked for shape and timestamp, but it still consumes its sequence as on a real chain.
      verifySoloProof(env.store, clientId, msg.proofConsensus, consensusStatePath(cpClient, ch.revisionNumber, ch.revisionHeight), selfConsensus, !selfConsensus);
    } catch (e) {
      throw wrap(e, `failed consensus state verification for client (${clientId})`);
    }
  }
  const open: ConnectionEnd = {
    ...connection,
    state: ConnState.STATE_OPEN,
    versions: [msg.version],
    counterparty: { ...connection.counterparty, connectionId: msg.counterpartyConnectionId },
  };
  env.store.set(connectionPath(msg.connectionId), ConnectionEnd.encode(open).finish());
  env.ctx.emit('connection_open_ack', connectionAttrs(msg.connectionId, open));
  env.ctx.emit('message', [['module', 'ibc_connection']]);
}
