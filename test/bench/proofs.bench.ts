import { getBytes, keccak256, Wallet } from 'ethers';
import { compileSolidity } from '../../src/governance/solc.ts';
import { startAnvil } from '../../src/governance/anvil.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { commitmentSlot, verifyEvmCommitments } from '../../proofs/evm/commitments.ts';
import { encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractFactory, Contract, type JsonRpcProvider } from 'ethers';
import { join } from 'node:path';
import { opsPerSecond } from './stats.ts';

export interface BenchRow {
  name: string;
  figure: string;
  baseline: string;
  ratio: string;
  note: string;
}

/**
 * EVM source verification: an account + 16-slot storage proof recorded from a
 * real anvil, verified by proofs/evm, next to the raw cost of hashing the same
 * proof nodes with keccak-256 (the work any verifier must do).
 */
export async function benchProofs(): Promise<BenchRow[]> {
  const anvil = await startAnvil({ chainId: 990_001 });
  try {
    const provider = makeProvider(anvil.url, 990_001n, { pollingMs: 50 });
    const w = Wallet.createRandom();
    await provider.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
    const sender = new TxSender(w.privateKey, provider);
    const out = await compileSolidity([join(process.cwd(), 'test/proofs/fixtures/ProofTarget.sol')]);
    const art = Object.values(out)[0]!;
    const f = new ContractFactory(art.abi as never, art.bytecode, sender.signer);
    const c = (await f.deploy()) as Contract;
    await c.waitForDeployment();
    const addr = await c.getAddress();
    const ids: Hex[] = [];
    for (let i = 0; i < 64; i++) {
      const id = keccak256(new TextEncoder().encode(`bench ${i}`)) as Hex;
      ids.push(id);
      await sender.send({ to: addr, data: c.interface.encodeFunctionData('set', [id, 1n]) });
    }
    const { proof, input, expect } = await proofAtHead(provider, addr, ids.slice(0, 16));
    const check = verifyEvmCommitments(input, expect);
    if (!check.ok) throw new Error(`benchmark proof does not verify: ${check.reason}`);
    let verified = 0;
    const v = opsPerSecond(() => {
      const r = verifyEvmCommitments(input, expect);
      if (!r.ok) throw new Error('a benchmark verification failed');
      verified++;
    });
    if (verified < v.count) throw new Error('not every verification ran');
    const nodes = [...proof.accountProof, ...proof.storageProof.flatMap((s) => s.proof)].map((n) => getBytes(n));
    const raw = opsPerSecond(() => {
      for (const n of nodes) keccak256(n);
    });
    const sample: QiaoMessage = {
      version: 1,
      srcChain: 'eip155:1' as QiaoMessage['srcChain'],
      srcPort: addr.toLowerCase() as Hex,
      sender: w.address.toLowerCase() as Hex,
      dstChain: 'eip155:10' as QiaoMessage['dstChain'],
      dstPort: addr.toLowerCase() as Hex,
      receiver: addr.toLowerCase() as Hex,
      nonce: 1n,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: `0x${'ab'.repeat(256)}`,
    };
    const enc = encodeMessage(sample);
    const encBytes = getBytes(enc);
    const m = opsPerSecond(() => {
      messageId(encodeMessage(sample));
    });
    const mk = opsPerSecond(() => {
      keccak256(encBytes);
    });
    const block = await blockSizedProof(provider, sender, c, addr, ids);
    provider.destroy();
    return [
      {
        name: 'EVM commitment proof (account + 16 storage proofs, header hash)',
        figure: `${v.opsPerSec.toFixed(0)} proofs/s (${(1e6 / v.opsPerSec).toFixed(0)} µs each, ${v.count} verified)`,
        baseline: `keccak-256 of the same ${nodes.length} nodes: ${(1e6 / raw.opsPerSec).toFixed(0)} µs`,
        ratio: (raw.opsPerSec / v.opsPerSec).toFixed(2),
        note: 'ratio = verify time / raw hashing time',
      },
      block,
      {
        name: 'message encode + id (256-byte payload)',
        figure: `${m.opsPerSec.toFixed(0)} msgs/s`,
        baseline: `keccak-256 of the encoding alone: ${mk.opsPerSec.toFixed(0)}/s`,
        ratio: (mk.opsPerSec / m.opsPerSec).toFixed(2),
        note: 'ABI encoding with validation dominates',
      },
    ];
  } finally {
    await anvil.stop();
  }
}

/** The relayer's input for the commitments of `ids` at the chain's head: eth_getProof of their slots, with the header. */
async function proofAtHead(provider: JsonRpcProvider, addr: string, ids: Hex[]) {
  const height = BigInt(await provider.getBlockNumber());
  const tag = `0x${height.toString(16)}`;
  const header = (await provider.send('eth_getBlockByNumber', [tag, false])) as Record<string, unknown>;
  const slots = ids.map((id) => commitmentSlot(id, 0n));
  const proof = (await provider.send('eth_getProof', [addr, slots, tag])) as { accountProof: Hex[]; storageProof: { key: Hex; value: Hex; proof: Hex[] }[] };
  const { transactions: _t, ...bare } = header;
  const input = { kind: 'evm-mpt', height: height.toString(), blockHash: header.hash as Hex, header: bare, address: addr.toLowerCase(), accountProof: proof.accountProof, storageProofs: proof.storageProof };
  const expect = { port: addr.toLowerCase() as Hex, height, trustedBlockHash: header.hash as Hex, slots };
  return { proof, input, expect };
}

const BLOCK_SLOTS = 256;
const BLOCK_TRIE = 2048;

/**
 * A busy block's proof: 256 commitments proven at once in a port holding 2,048 (one eth_getProof, as the relayer
 * asks for a block's messages). The storage proofs share their upper nodes; the raw limit is hashing each distinct
 * node once, next to hashing every listed node (what checking each slot's proof on its own costs).
 */
async function blockSizedProof(provider: JsonRpcProvider, sender: TxSender, c: Contract, addr: string, have: Hex[]): Promise<BenchRow> {
  const ids = [...have];
  process.stderr.write(`proofs: filling a port with ${BLOCK_TRIE} commitments…\n`);
  const pending: Promise<unknown>[] = [];
  for (let i = ids.length; i < BLOCK_TRIE; i++) {
    const id = keccak256(new TextEncoder().encode(`bench ${i}`)) as Hex;
    ids.push(id);
    pending.push(sender.send({ to: addr, data: c.interface.encodeFunctionData('set', [id, 1n]) }));
    if (pending.length === 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  // Spread over the trie, as a block's messages are (their slots are hashes).
  const { proof, input, expect } = await proofAtHead(provider, addr, ids.filter((_, i) => i % (BLOCK_TRIE / BLOCK_SLOTS) === 0));
  let verified = 0;
  const v = opsPerSecond(() => {
    const r = verifyEvmCommitments(input, expect);
    if (!r.ok || r.values.length !== BLOCK_SLOTS) throw new Error(`a benchmark verification failed: ${r.ok ? `${r.values.length} values` : r.reason}`);
    verified++;
  });
  if (verified < v.count) throw new Error('not every verification ran');
  const listed = [...proof.accountProof, ...proof.storageProof.flatMap((s) => s.proof)];
  const distinct = [...new Set(listed.map((n) => n.toLowerCase()))].map((n) => getBytes(n));
  const all = listed.map((n) => getBytes(n));
  const rawDistinct = opsPerSecond(() => {
    for (const n of distinct) keccak256(n);
  });
  const rawAll = opsPerSecond(() => {
    for (const n of all) keccak256(n);
  });
  return {
    name: `EVM commitment proof of a busy block (account + ${BLOCK_SLOTS} storage proofs in a port of ${BLOCK_TRIE} commitments, header hash)`,
    figure: `${(1e6 / v.opsPerSec / BLOCK_SLOTS).toFixed(1)} µs per commitment (${(1e3 / v.opsPerSec).toFixed(2)} ms per proof, ${v.count} verified, every slot checked)`,
    baseline: `keccak-256 of its ${distinct.length} distinct nodes: ${(1e3 / rawDistinct.opsPerSec).toFixed(2)} ms (of all ${all.length} listed: ${(1e3 / rawAll.opsPerSec).toFixed(2)} ms)`,
    ratio: (rawDistinct.opsPerSec / v.opsPerSec).toFixed(2),
    note: 'ratio = verify time / hashing each distinct node once (the raw limit); shared nodes are parsed and hashed once per proof',
  };
}
