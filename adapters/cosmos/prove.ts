import type { Hex } from '../../src/domain/hex.ts';
import { RpcError, ValidationError } from '../../src/errors.ts';
import type { CosmosIbcItem, CosmosIbcProof, CosmosPacket } from './proof.ts';
import { storeQuery, toHex, type CometEndpoint } from './rpc.ts';
import { itemsAt, type ChannelScope, type FoundItem } from './watch.ts';

/** ICS-24 key of a packet commitment (what the sending chain stores). */
export const packetCommitmentPath = (port: string, channel: string, sequence: bigint | string) => `commitments/ports/${port}/channels/${channel}/sequences/${sequence}`;
/** ICS-24 key of an acknowledgement commitment (what the receiving chain stores). */
export const packetAckPath = (port: string, channel: string, sequence: bigint | string) => `acks/ports/${port}/channels/${channel}/sequences/${sequence}`;
/** ICS-24 key of a packet receipt (unordered channels). */
export const packetReceiptPath = (port: string, channel: string, sequence: bigint | string) => `receipts/ports/${port}/channels/${channel}/sequences/${sequence}`;

/** The `ibc` store key whose value proves an item: the packet commitment at the source, or the ack at the destination. */
export function itemKey(kind: 'packet' | 'ack', p: CosmosPacket): string {
  return kind === 'packet' ? packetCommitmentPath(p.sourcePort, p.sourceChannel, p.sequence) : packetAckPath(p.destinationPort, p.destinationChannel, p.sequence);
}

/**
 * The `cosmos-ibc` proof of the ids the registered channel emitted at block H:
 * each item's packet (and ack) as the events give them, and the abci_query
 * proof of its ICS-24 key in the `ibc` store at H, from one endpoint (the
 * relayer asks the others when this one's proof fails). Ids the block does not
 * hold are not served (the verifier refuses a proof that misses one).
 */
export async function proveAt(e: CometEndpoint, height: bigint, ids: readonly Hex[], scope: ChannelScope): Promise<CosmosIbcProof> {
  if (height < 1n) throw new ValidationError('height', `${height} is not a block height`);
  const wanted = new Set(ids.map((id) => id.toLowerCase()));
  const found: FoundItem[] = (await itemsAt(e, height, scope)).filter((m) => wanted.has(m.id));
  if (found.length === 0) throw new ValidationError('ids', `no message of ${scope.chainId} with these ids at height ${height}`);
  const items: CosmosIbcItem[] = [];
  for (const f of found) {
    const key = itemKey(f.kind, f.packet);
    const r = await storeQuery(e, 'ibc', new TextEncoder().encode(key), height, true);
    if (r.value.length === 0) throw new RpcError(e.url, `${key} is empty at height ${height} (a pruned node, or not the chain the events say)`);
    if (r.proofOps.length !== 2) throw new RpcError(e.url, `${key} at ${height}: ${r.proofOps.length} proof ops, expected 2 (iavl, simple)`);
    items.push({
      kind: f.kind,
      packet: f.packet,
      ...(f.kind === 'ack' ? { ack: f.ack! } : {}),
      proofOps: r.proofOps.map((o) => ({ type: o.type, key: toHex(o.key), data: toHex(o.data) })),
    });
  }
  return { kind: 'cosmos-ibc', height: height.toString(), items };
}
