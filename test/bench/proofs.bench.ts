import { getBytes, keccak256, Wallet } from 'ethers';
import { compileSolidity } from '../../src/governance/solc.ts';
import { startAnvil } from '../../src/governance/anvil.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { commitmentSlot, verifyEvmCommitments } from '../../proofs/evm/commitments.ts';
import { encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractFactory, Contract } from 'ethers';
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
    const height = BigInt(await provider.getBlockNumber());
    const tag = `0x${height.toString(16)}`;
    const header = (await provider.send('eth_getBlockByNumber', [tag, false])) as Record<string, unknown>;
    const slots = ids.slice(0, 16).map((id) => commitmentSlot(id, 0n));
    const proof = (await provider.send('eth_getProof', [addr, slots, tag])) as { accountProof: Hex[]; storageProof: { key: Hex; value: Hex; proof: Hex[] }[] };
    provider.destroy();
    const { transactions: _t, ...bare } = header;
    const input = { kind: 'evm-mpt', height: height.toString(), blockHash: header.hash as Hex, header: bare, address: addr.toLowerCase(), accountProof: proof.accountProof, storageProofs: proof.storageProof };
    const expect = { port: addr.toLowerCase() as Hex, height, trustedBlockHash: header.hash as Hex, slots };
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
    return [
      {
        name: 'EVM commitment proof (account + 16 storage proofs, header hash)',
        figure: `${v.opsPerSec.toFixed(0)} proofs/s (${(1e6 / v.opsPerSec).toFixed(0)} µs each, ${v.count} verified)`,
        baseline: `keccak-256 of the same ${nodes.length} nodes: ${(1e6 / raw.opsPerSec).toFixed(0)} µs`,
        ratio: (raw.opsPerSec / v.opsPerSec).toFixed(2),
        note: 'ratio = verify time / raw hashing time',
      },
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
