import { QuerySmartContractStateRequest, QuerySmartContractStateResponse } from 'cosmjs-types/cosmwasm/wasm/v1/query';
import { MsgRecvPacket } from 'cosmjs-types/ibc/core/channel/v1/tx';
import { type Module, ModuleError } from '../node/module.ts';

const RECV_PACKET = '/ibc.core.channel.v1.MsgRecvPacket';
const SMART_QUERY = '/cosmwasm.wasm.v1.Query/SmartContractState';

/** Switches a test flips on the running model (read at every tx and query). */
export interface ContractFaults {
  /**
   * The contract is paused (as QiaoPort's `pause`): MsgRecvPacket to its port fails, the `config` query says
   * `"paused": true` (so a relayer holds its deliveries back instead of signing proofs for a tx that fails),
   * and everything else (sends, acks of its own packets, `cancel`) works.
   */
  refuseRecv: boolean;
}

/**
 * Wraps the ibc and wasm modules so the contract at `contractAddress` obeys `faults`. The wrapping lives outside
 * the contract because the modules are built elsewhere (ibc/index.ts); nothing is written to state, so app hashes
 * and proofs are those of the same chain without the fault.
 */
export function withContractFaults(modules: Module[], contractAddress: string, faults: ContractFaults): Module[] {
  const port = `wasm.${contractAddress}`;
  return modules.map((m) => {
    const recv = m.msgs[RECV_PACKET];
    const smart = m.queries[SMART_QUERY];
    if (!recv && !smart) return m;
    return {
      ...m,
      msgs: {
        ...m.msgs,
        ...(recv
          ? {
              [RECV_PACKET]: (ctx, v) => {
                if (faults.refuseRecv && MsgRecvPacket.decode(v).packet?.destinationPort === port) {
                  throw new ModuleError('wasm', 5, 'the Qiao contract is paused: execute wasm contract failed');
                }
                return recv(ctx, v);
              },
            }
          : {}),
      },
      queries: {
        ...m.queries,
        ...(smart
          ? {
              [SMART_QUERY]: (ctx, req) => {
                const res = smart(ctx, req);
                if (!faults.refuseRecv) return res;
                const q = QuerySmartContractStateRequest.decode(req);
                if (q.address !== contractAddress || !('config' in (JSON.parse(Buffer.from(q.queryData).toString('utf8')) as object))) return res;
                const answer = JSON.parse(Buffer.from(QuerySmartContractStateResponse.decode(res).data).toString('utf8')) as object;
                return QuerySmartContractStateResponse.encode({ data: Buffer.from(JSON.stringify({ ...answer, paused: true })) }).finish();
              },
            }
          : {}),
      },
    };
  });
}
