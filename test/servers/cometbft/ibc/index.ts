import { MsgCreateClientResponse } from 'cosmjs-types/ibc/core/client/v1/tx';
import { moduleAddress } from '../node/address.ts';
import { type Module, ModuleError, type TxContext } from '../node/module.ts';
import { QiaoContract, SETTLEMENT_MODULE, WASM_STORE } from '../contract/qiao.ts';
import { ChannelKeeper } from './channel.ts';
import { createClient, submitMisbehaviourMsg, updateClient } from './client.ts';
import { connOpenAck, connOpenInit } from './connection.ts';
import { envFor, IBC_STORE, type IbcConfig, type SelfConsensusState } from './env.ts';
import { ibcQueries } from './queries.ts';

export interface IbcModulesOptions {
  ibcVersion: 'v8' | 'v9';
  chainId: string;
  /** bech32 address of the Qiao contract (its port is wasm.<address>) */
  contractAddress: string;
  /** bech32 address of the model receiver account */
  receiverAddress: string;
  /** staking unbonding time (v8 ValidateSelfClient); default 21 days as the SDK's default */
  unbondingPeriodSeconds?: bigint;
  /** this chain's tendermint consensus state at a height (v8 ConnOpenAck checks proof_consensus against it) */
  selfConsensusState?: (height: bigint) => SelfConsensusState | undefined;
}

export type { SelfConsensusState };

const DEFAULT_UNBONDING_SECONDS = 21n * 24n * 3600n;

/**
 * The `ibc` module (ibc-go core with the 06-solomachine client) and the `wasm` module (the Qiao
 * contract model and its receiver). They share the port router in memory, as ibc-go's router
 * and wasmd's IBC handler do. Handlers return the Msg response bytes where one matters.
 */
export function createIbcModules(opts: IbcModulesOptions): Module[] {
  const { ibcVersion, chainId, contractAddress, receiverAddress, unbondingPeriodSeconds = DEFAULT_UNBONDING_SECONDS, selfConsensusState } = opts;
  const cfg: IbcConfig = { ibcVersion, chainId, unbondingPeriodSeconds, ...(selfConsensusState ? { selfConsensusState } : {}) };
  const contract = new QiaoContract({ chainId, contractAddress, receiverAddress, settlementAddress: moduleAddress(SETTLEMENT_MODULE) });
  const channels = new ChannelKeeper(cfg, (port) => (port === contract.portId ? contract : undefined));
  contract.bind(channels);
  const env = (ctx: TxContext) => envFor(ctx, cfg);

  const ibc: Module = {
    name: IBC_STORE,
    msgs: {
      '/ibc.core.client.v1.MsgCreateClient': (ctx, v) => {
        const clientId = new TextDecoder().decode(createClient(env(ctx), v));
        return MsgCreateClientResponse.encode({ clientId }).finish();
      },
      '/ibc.core.client.v1.MsgUpdateClient': (ctx, v) => updateClient(env(ctx), v),
      '/ibc.core.client.v1.MsgSubmitMisbehaviour': (ctx, v) => submitMisbehaviourMsg(env(ctx), v),
      '/ibc.core.connection.v1.MsgConnectionOpenInit': (ctx, v) => connOpenInit(env(ctx), v),
      '/ibc.core.connection.v1.MsgConnectionOpenAck': (ctx, v) => connOpenAck(env(ctx), v),
      '/ibc.core.channel.v1.MsgChannelOpenInit': (ctx, v) => channels.chanOpenInit(env(ctx), v),
      '/ibc.core.channel.v1.MsgChannelOpenAck': (ctx, v) => channels.chanOpenAck(env(ctx), v),
      '/ibc.core.channel.v1.MsgRecvPacket': (ctx, v) => channels.recvPacket(ctx, v),
      '/ibc.core.channel.v1.MsgAcknowledgement': (ctx, v) => channels.acknowledgePacket(ctx, v),
      '/ibc.core.channel.v1.MsgTimeout': (ctx, v) => channels.timeoutPacket(ctx, v),
    },
    queries: ibcQueries(),
  };
  const wasm: Module = {
    name: WASM_STORE,
    msgs: { '/cosmwasm.wasm.v1.MsgExecuteContract': (ctx, v) => contract.execute(ctx, v) },
    queries: { '/cosmwasm.wasm.v1.Query/SmartContractState': (ctx, req) => contract.query(ctx, req) },
  };
  return [guard(ibc), guard(wasm)];
}

/**
 * Malformed protobuf never reaches a handler on a real chain (the tx decoder refuses it with
 * sdk code 2); here the handlers decode, so their decode errors are reported the same way.
 */
function guard(m: Module): Module {
  const wrapMsg =
    (h: Module['msgs'][string]): Module['msgs'][string] =>
    (ctx, v) => {
      try {
        return h(ctx, v);
      } catch (e) {
        if (e instanceof ModuleError) throw e;
        throw new ModuleError('sdk', 2, `tx parse error: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
  const wrapQuery =
    (h: Module['queries'][string]): Module['queries'][string] =>
    (ctx, req) => {
      try {
        return h(ctx, req);
      } catch (e) {
        if (e instanceof ModuleError) throw e;
        throw new ModuleError('sdk', 18, `invalid request: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
  return {
    ...m,
    msgs: Object.fromEntries(Object.entries(m.msgs).map(([k, h]) => [k, wrapMsg(h)])),
    queries: Object.fromEntries(Object.entries(m.queries).map(([k, h]) => [k, wrapQuery(h)])),
  };
}
