/**
 * CPU per call of the relayer's hot functions, the ethers way against the one
 * the hub now uses, on the same input (issue 5). Run: npx tsx test/bench/relayer-cpu.ts
 */
import { AbiCoder, SigningKey, Transaction, getBytes, hexlify, keccak256, toUtf8Bytes, toUtf8String } from 'ethers';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { signRawTx, type RawTxFields } from '../../src/evm/raw-tx.ts';
import { decodeMessage, encodeMessage, MESSAGE_ABI_TYPES, type QiaoMessage } from '../../src/domain/message.ts';

function cpuMs(label: string, n: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(3, n); i++) fn();
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const d = process.cpuUsage(t);
  const ms = (d.user + d.system) / 1000 / n;
  console.log(`${label.padEnd(58)} ${ms.toFixed(3)} ms CPU/call`);
  return ms;
}

const pk = getBytes('0x' + '11'.repeat(32));
const tx: RawTxFields = {
  type: 2, chainId: 31337n, nonce: 7, gasLimit: 9_000_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1n,
  to: '0x' + 'ab'.repeat(20), value: 0n, data: hexlify(new Uint8Array(58_000).map((_, i) => (i * 31) & 0xff)),
};
console.log('1. sign + serialise a 58 KB deliverBatch transaction');
cpuMs('ethers: Transaction.from + sign + serialized (signTransaction)', 20, () => {
  const t = Transaction.from({ ...tx, gasPrice: undefined });
  t.signature = new SigningKey(pk).sign(t.unsignedHash);
  return t.serialized;
});
const signed = (() => { const t = Transaction.from({ ...tx }); t.signature = new SigningKey(pk).sign(t.unsignedHash); return t.serialized; })();
cpuMs('ethers: Transaction.from(signed) in broadcastTransaction', 20, () => Transaction.from(signed).hash);
cpuMs('ours: signRawTx (raw bytes + hash)', 20, () => signRawTx(tx, pk));

console.log('2. decodeMessage (1 KB payload)');
const m: QiaoMessage = {
  version: 1, srcChain: 'eip155:31337' as QiaoMessage['srcChain'], srcPort: ('0x' + '12'.repeat(20)) as QiaoMessage['srcPort'], sender: ('0x' + '34'.repeat(20)) as QiaoMessage['sender'],
  dstChain: 'eip155:31338' as QiaoMessage['dstChain'], dstPort: ('0x' + '56'.repeat(20)) as QiaoMessage['dstPort'], receiver: ('0x' + '78'.repeat(20)) as QiaoMessage['receiver'],
  nonce: 42n, gasLimit: 200_000n, timeoutHeight: 0n, timeoutUnixSeconds: 1_900_000_000n, payload: hexlify(new Uint8Array(1024).fill(9)) as QiaoMessage['payload'],
};
const enc = encodeMessage(m);
const coder = AbiCoder.defaultAbiCoder();
cpuMs('ethers decode + re-encode check (the old decodeMessage)', 2000, () => {
  coder.decode(MESSAGE_ABI_TYPES as unknown as string[], getBytes(enc));
  return encodeMessage(m) === enc;
});
cpuMs('decodeMessage (current)', 2000, () => decodeMessage(enc));

console.log('3. JSON-RPC answer body to objects (553 KB eth_getProof-sized answer)');
const proofNode = '0x' + 'f9'.repeat(532);
const answer = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { accountProof: Array(200).fill(proofNode), storageProof: [{ key: '0x00', value: '0x01', proof: Array(320).fill(proofNode) }] } });
const body = new TextEncoder().encode(answer);
console.log(`   (${(body.length / 1024).toFixed(0)} KB)`);
cpuMs("ethers: FetchResponse.bodyJson (toUtf8String + JSON.parse)", 20, () => JSON.parse(toUtf8String(body)));
const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
cpuMs('ours: TextDecoder + JSON.parse', 20, () => JSON.parse(td.decode(body)));
const request = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [signed] });
cpuMs('ethers: request body toUtf8Bytes (58 KB raw tx)', 50, () => toUtf8Bytes(request));
const te = new TextEncoder();
cpuMs('ours: TextEncoder', 50, () => te.encode(request));

console.log('4. deliver: the batch tree (256 ids), built per destination job before, cached now');
const ids = Array.from({ length: 256 }, (_, i) => keccak256(toUtf8Bytes(`id-${i}`)) as Hex);
cpuMs('MessageTree.of(256 ids)', 10, () => MessageTree.of(ids));
const tree = MessageTree.of(ids);
cpuMs('256 proofs (OpenZeppelin verifies each one it gives)', 10, () => ids.map((id) => tree.proof(id)));
