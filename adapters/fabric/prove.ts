import type { Hex } from '../../src/domain/hex.ts';
import { RpcError } from '../../src/errors.ts';
import type { Logger } from 'pino';
import type { PeerClient } from './gateway.ts';
import type { FabricTxProof } from './proof.ts';
import { decodeBlock, messagesOfTx, rawBlock, type PortScope } from './watch.ts';


export interface ValidationAnswer {
  endpoint: number;
  mspId: string;
  response: Uint8Array;
}

/**
 * Each peer endpoint's signed answer to qscc GetTransactionByID(txId), as it serialized it. A peer that cannot
 * answer (down, or does not know the tx) is left out: the verifier counts organisations, and one missing
 * answer must not stop the others from being served.
 */
export async function validationAnswersOf(peers: readonly PeerClient[], channel: string, txId: string, logger: Logger): Promise<ValidationAnswer[]> {
  const answers = await Promise.all(
    peers.map(async (p, endpoint) => {
      try {
        const a = await p.propose(channel, 'qscc', ['GetTransactionByID', channel, txId]);
        const status = a.response.getResponse()?.getStatus() ?? 500;
        if (status >= 400 || !a.response.getEndorsement()) {
          logger.debug({ endpoint: p.endpoint.name, txId, status }, 'peer gave no validation answer');
          return null;
        }
        return { endpoint, mspId: p.endpoint.mspId, response: a.bytes };
      } catch (err) {
        logger.warn({ endpoint: p.endpoint.name, txId, err }, 'peer unreachable for a validation answer');
        return null;
      }
    }),
  );
  return answers.filter((a): a is ValidationAnswer => a !== null);
}

/**
 * The proof that the port committed `ids` at block `height`: the block as `peer` serves it, the transactions
 * carrying the ids (whatever the serving peer flagged: validity is what the k signed answers settle), and the
 * answers. An id the block does not carry is left out, so the proof fails verification for it.
 */
export async function proveAt(
  o: { peer: PeerClient; peers: readonly PeerClient[]; scope: PortScope; logger: Logger; /** organisations whose answers the verifier needs */ organisations: number },
  height: bigint,
  ids: readonly Hex[],
): Promise<FabricTxProof> {
  const bytes = await rawBlock(o.peer, o.scope.channel, height);
  const block = decodeBlock(bytes, o.scope.chaincode, o.peer.endpoint.url);
  const wanted = new Set(ids.map((i) => i.toLowerCase()));
  const carrying = block.txs.map((tx) => ({ tx, messages: messagesOfTx(block, tx, o.scope).filter((m) => wanted.has(m.id)) })).filter((c) => c.messages.length > 0);
  // One signed answer per peer per transaction: asked for every transaction of the block side by side, not one after another.
  const answered = await Promise.all(carrying.map((c) => validationAnswersOf(o.peers, o.scope.channel, c.tx.txId, o.logger)));
  const txs: FabricTxProof['txs'] = carrying.map(({ tx, messages }, k) => {
    const answers = answered[k]!;
    // Peers that are down or have not committed the block yet: a wait, never a proof the verifier must refuse for good.
    const orgs = new Set(answers.map((a) => a.mspId)).size;
    if (orgs < o.organisations) throw new RpcError(o.peer.endpoint.url, `tx ${tx.txId}: answers from ${orgs} organisations, ${o.organisations} needed`);
    return {
      txId: tx.txId,
      messages: messages.map((m) => m.encoded),
      validation: answers.map((a) => ({ mspId: a.mspId, response: Buffer.from(a.response).toString('base64') })),
    };
  });
  return { kind: 'fabric-tx', height: height.toString(), block: Buffer.from(bytes).toString('base64'), txs };
}
