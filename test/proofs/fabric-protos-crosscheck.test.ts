/**
 * The verifier decodes Fabric protobufs with its own wire reader (it must
 * keep the exact signed byte slices). This test decodes the same bytes with
 * the generated @hyperledger/fabric-protos classes and compares, on the
 * upstream ledgers and on the test fixtures (which use a hand-written encoder).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { common, ledger, msp, peer } from '@hyperledger/fabric-protos';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';
import { parseBlockFile } from '../../proofs/fabric/block.ts';
import { decodeEndorserTransaction, decodeEnvelope } from '../../proofs/fabric/tx.ts';
import { makeChannel, makeLedger, qsccAnswer } from './fixtures/fabric/network.ts';

const FILES = ['fabcar-1.4.1/blockfile_000000', 'asset-transfer-basic-2.4.7/chains/chains/mychannel/blockfile_000000'];

function theirs(envBytes: Uint8Array) {
  const env = common.Envelope.deserializeBinary(envBytes);
  const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
  const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
  const out = { txId: ch.getTxId(), type: ch.getType(), channel: ch.getChannelId(), actions: [] as { cc: string; endorsers: string[]; writes: string[] }[] };
  if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return out;
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  for (const a of tx.getActionsList()) {
    const cap = peer.ChaincodeActionPayload.deserializeBinary(a.getPayload_asU8());
    const cea = cap.getAction()!;
    const prp = peer.ProposalResponsePayload.deserializeBinary(cea.getProposalResponsePayload_asU8());
    const action = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    const rw = ledger.rwset.TxReadWriteSet.deserializeBinary(action.getResults_asU8());
    const writes = rw.getNsRwsetList().flatMap((ns) => ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8()).getWritesList().map((w) => `${ns.getNamespace()}/${w.getKey()}`));
    out.actions.push({
      cc: action.getChaincodeId()!.getName(),
      endorsers: cea.getEndorsementsList().map((e) => msp.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid()),
      writes,
    });
  }
  return out;
}

function ours(envBytes: Uint8Array) {
  const env = decodeEnvelope(envBytes);
  return {
    txId: env.txId,
    type: env.headerType,
    channel: env.channelId,
    actions:
      env.headerType === 3
        ? decodeEndorserTransaction(env.data).map((a) => ({
            cc: a.chaincode.name,
            endorsers: a.endorsements.map((e) => e.endorser.mspId),
            writes: a.rwsets.flatMap((ns) => ns.writes.map((w) => `${ns.namespace}/${w.key}`)),
          }))
        : [],
  };
}

describe.skipIf(!HAVE_VECTORS)('fabric decoding agrees with @hyperledger/fabric-protos (upstream ledgers)', () => {
  for (const f of FILES) {
    it(f, () => {
      const blocks = parseBlockFile(readFileSync(vectorPath('fabric', 'blockchain-verifier', f)));
      for (const b of blocks) for (const d of b.data) expect(ours(d)).toEqual(theirs(d));
    });
  }
});

describe('fabric test fixtures agree with @hyperledger/fabric-protos', () => {
  const ch = makeChannel();
  const l = makeLedger(ch);

  it('blocks and transactions', () => {
    for (const b of l.blocks) for (const d of b.data) expect(ours(d)).toEqual(theirs(d));
    expect(theirs(l.invoke.envelope).actions[0]).toEqual({ cc: 'asset', endorsers: ['Org1MSP', 'Org3MSP'], writes: ['asset/asset1'] });
  });

  it('qscc answers are ProposalResponses carrying a ProcessedTransaction', () => {
    const pr = peer.ProposalResponse.deserializeBinary(qsccAnswer(ch.peers[1]!, l.invoke.envelope, 0));
    const prp = peer.ProposalResponsePayload.deserializeBinary(pr.getPayload_asU8());
    const action = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    expect(action.getChaincodeId()!.getName()).toBe('qscc');
    const processed = peer.ProcessedTransaction.deserializeBinary(action.getResponse()!.getPayload_asU8());
    expect(processed.getValidationcode()).toBe(0);
    expect(Buffer.from(processed.getTransactionenvelope()!.serializeBinary()).equals(Buffer.from(l.invoke.envelope))).toBe(true);
    expect(msp.SerializedIdentity.deserializeBinary(pr.getEndorsement()!.getEndorser_asU8()).getMspid()).toBe('Org2MSP');
  });
});
