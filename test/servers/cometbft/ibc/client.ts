import { MsgCreateClient, MsgSubmitMisbehaviour, MsgUpdateClient } from 'cosmjs-types/ibc/core/client/v1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { Env } from './env.ts';
import { ibcError } from './errors.ts';
import { NEXT_CLIENT_SEQUENCE } from './paths.ts';
import {
  ClientState,
  ConsensusState,
  Header,
  Misbehaviour,
  saveClientState,
  submitMisbehaviour,
  updateWithHeader,
  validateConsensusState,
  SOLOMACHINE_CLIENT_STATE_URL,
  SOLOMACHINE_CONSENSUS_STATE_URL,
  SOLOMACHINE_HEADER_URL,
  SOLOMACHINE_MISBEHAVIOUR_URL,
  SOLOMACHINE_TYPE,
} from './solomachine.ts';

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

function message(env: Env): void {
  env.ctx.emit('message', [['module', 'ibc_client']]);
}

/** MsgCreateClient: only solo machine clients exist in the model (the chain never tracks a tendermint hub). */
export function createClient(env: Env, bytes: Uint8Array): Uint8Array {
  const msg = MsgCreateClient.decode(bytes);
  const csAny: Any | undefined = msg.clientState;
  const consAny: Any | undefined = msg.consensusState;
  if (!csAny || !consAny) throw ibcError('unpackAny', 'client state and consensus state must be set');
  if (csAny.typeUrl !== SOLOMACHINE_CLIENT_STATE_URL) {
    throw ibcError('invalidClientType', `client type ${csAny.typeUrl} is not supported by this model`);
  }
  if (consAny.typeUrl !== SOLOMACHINE_CONSENSUS_STATE_URL) throw ibcError('invalidConsensus', 'consensus state type mismatch');
  const cs = ClientState.decode(csAny.value);
  if (cs.sequence === 0n) throw ibcError('invalidClient', 'sequence cannot be 0');
  validateConsensusState(cs.consensusState);
  const cons = ConsensusState.decode(consAny.value);
  // Initialize: the initial consensus state must equal the client's own.
  if (!cs.consensusState || !sameBytes(ConsensusState.encode(cs.consensusState).finish(), ConsensusState.encode(cons).finish())) {
    throw ibcError('invalidConsensus', 'consensus state in initial client does not equal initial consensus state');
  }
  const n = env.store.getU64(NEXT_CLIENT_SEQUENCE) ?? 0n;
  const clientId = `${SOLOMACHINE_TYPE}-${n}`;
  env.store.setU64(NEXT_CLIENT_SEQUENCE, n + 1n);
  saveClientState(env.store, clientId, { sequence: cs.sequence, isFrozen: false, consensusState: cs.consensusState });
  env.ctx.emit('create_client', [
    ['client_id', clientId],
    ['client_type', SOLOMACHINE_TYPE],
    ['consensus_height', `0-${cs.sequence}`],
  ]);
  message(env);
  return new TextEncoder().encode(clientId);
}

function applyClientMessage(env: Env, clientId: string, any: Any | undefined): void {
  if (!any) throw ibcError('unpackAny', 'client message cannot be empty');
  if (any.typeUrl === SOLOMACHINE_HEADER_URL) {
    const next = updateWithHeader(env.store, clientId, Header.decode(any.value));
    const h = `0-${next.sequence}`;
    env.ctx.emit('update_client', [
      ['client_id', clientId],
      ['client_type', SOLOMACHINE_TYPE],
      ['consensus_height', h],
      ['consensus_heights', h],
    ]);
    message(env);
    return;
  }
  if (any.typeUrl === SOLOMACHINE_MISBEHAVIOUR_URL) {
    submitMisbehaviour(env.store, clientId, Misbehaviour.decode(any.value));
    env.ctx.emit('client_misbehaviour', [
      ['client_id', clientId],
      ['client_type', SOLOMACHINE_TYPE],
    ]);
    message(env);
    return;
  }
  throw ibcError('invalidType', `unsupported client message ${any.typeUrl}`);
}

/** MsgUpdateClient with a solo machine Header (key rotation) or Misbehaviour (freezes). */
export function updateClient(env: Env, bytes: Uint8Array): void {
  const msg = MsgUpdateClient.decode(bytes);
  applyClientMessage(env, msg.clientId, msg.clientMessage);
}

/** MsgSubmitMisbehaviour (deprecated in ibc-go in favour of MsgUpdateClient, still routed). */
export function submitMisbehaviourMsg(env: Env, bytes: Uint8Array): void {
  const msg = MsgSubmitMisbehaviour.decode(bytes);
  if (msg.misbehaviour?.typeUrl !== SOLOMACHINE_MISBEHAVIOUR_URL) throw ibcError('invalidType', 'expected a solo machine misbehaviour');
  applyClientMessage(env, msg.clientId, msg.misbehaviour);
}
