import { Registry, type GeneratedType } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import { MsgAcknowledgement, MsgRecvPacket, MsgTimeout } from 'cosmjs-types/ibc/core/channel/v1/tx';
import { MsgUpdateClient } from 'cosmjs-types/ibc/core/client/v1/tx';

export const MSG_EXECUTE_CONTRACT = '/cosmwasm.wasm.v1.MsgExecuteContract';
export const MSG_RECV_PACKET = '/ibc.core.channel.v1.MsgRecvPacket';
export const MSG_ACKNOWLEDGEMENT = '/ibc.core.channel.v1.MsgAcknowledgement';
export const MSG_TIMEOUT = '/ibc.core.channel.v1.MsgTimeout';
export const MSG_UPDATE_CLIENT = '/ibc.core.client.v1.MsgUpdateClient';

/**
 * The cosmjs Registry the adapter signs with: the SDK's defaults (bank, the IBC
 * core msgs cosmjs ships) plus CosmWasm's MsgExecuteContract. The IBC entries
 * are listed again so this file states every typeUrl the adapter sends.
 */
export function qiaoCosmosRegistry(): Registry {
  const extra: [string, GeneratedType][] = [
    [MSG_EXECUTE_CONTRACT, MsgExecuteContract],
    [MSG_RECV_PACKET, MsgRecvPacket],
    [MSG_ACKNOWLEDGEMENT, MsgAcknowledgement],
    [MSG_TIMEOUT, MsgTimeout],
    [MSG_UPDATE_CLIENT, MsgUpdateClient],
  ];
  return new Registry([...defaultRegistryTypes, ...extra]);
}
