import { Registry, type EncodeObject } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';

export const MSG_EXECUTE_CONTRACT_TYPE_URL = '/cosmwasm.wasm.v1.MsgExecuteContract';

/** A Registry that knows the SDK's default msgs, every ibc.core msg (cosmjs's defaults include them) and cosmwasm's MsgExecuteContract. */
export function qiaoCosmosRegistry(): Registry {
  return new Registry([...defaultRegistryTypes, [MSG_EXECUTE_CONTRACT_TYPE_URL, MsgExecuteContract]]);
}

/** One msg as it is journaled: its type URL and protobuf bytes (hex). */
export interface EncodedMsg {
  typeUrl: string;
  value: string;
}

export function encodeMsgs(registry: Registry, msgs: readonly EncodeObject[]): EncodedMsg[] {
  return msgs.map((m) => ({ typeUrl: m.typeUrl, value: Buffer.from(registry.encode(m)).toString('hex') }));
}

export function decodeMsgs(registry: Registry, msgs: readonly EncodedMsg[]): EncodeObject[] {
  return msgs.map((m) => ({ typeUrl: m.typeUrl, value: registry.decode({ typeUrl: m.typeUrl, value: Uint8Array.from(Buffer.from(m.value, 'hex')) }) as unknown }));
}
