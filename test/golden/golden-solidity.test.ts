import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContractFactory, JsonRpcProvider, Wallet, type Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { compileSolidity } from '../../src/governance/solc.ts';
import { GOLDEN_FILE, type GoldenMessageFields, type GoldenVectors } from './generate.ts';

const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as GoldenVectors;
const HERE = dirname(fileURLToPath(import.meta.url));

/** The Solidity struct argument for a golden message (uint64 fields as bigints). */
function structOf(m: GoldenMessageFields) {
  return {
    version: m.version,
    srcChain: m.srcChain,
    srcPort: m.srcPort,
    sender: m.sender,
    dstChain: m.dstChain,
    dstPort: m.dstPort,
    receiver: m.receiver,
    nonce: BigInt(m.nonce),
    gasLimit: BigInt(m.gasLimit),
    timeoutHeight: BigInt(m.timeoutHeight),
    timeoutUnixSeconds: BigInt(m.timeoutUnixSeconds),
    payload: m.payload,
  };
}

interface DecodedStruct {
  version: bigint;
  srcChain: string;
  srcPort: string;
  sender: string;
  dstChain: string;
  dstPort: string;
  receiver: string;
  nonce: bigint;
  gasLimit: bigint;
  timeoutHeight: bigint;
  timeoutUnixSeconds: bigint;
  payload: string;
}

describe('golden vectors against the Solidity port libraries (eth_call on anvil)', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let check: Contract;

  beforeAll(async () => {
    const compiled = await compileSolidity([join(HERE, 'GoldenCheck.sol')]);
    const artifact = compiled.GoldenCheck!;
    anvil = await startAnvil({ chainId: 4201 });
    // No response cache: reads right after a write must see it, and nonces must be fresh.
    provider = new JsonRpcProvider(anvil.url, 4201, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
    const deployer = new Wallet(ANVIL_DEV_KEY, provider);
    const deployed = await new ContractFactory(artifact.abi as never, artifact.bytecode, deployer).deploy();
    await deployed.waitForDeployment();
    check = deployed as unknown as Contract;
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  describe('messages', () => {
    for (const c of golden.messages) {
      it(`${c.name}: QiaoMessage.encode/id/decode agree with the file`, async () => {
        const s = structOf(c.message);
        expect(await check.getFunction('encode').staticCall(s)).toBe(c.encoded);
        expect(await check.getFunction('idOf').staticCall(s)).toBe(c.id);
        expect(await check.getFunction('id').staticCall(c.encoded)).toBe(c.id);
        const d = (await check.getFunction('decode').staticCall(c.encoded)) as DecodedStruct;
        expect({
          version: Number(d.version),
          srcChain: d.srcChain,
          srcPort: d.srcPort,
          sender: d.sender,
          dstChain: d.dstChain,
          dstPort: d.dstPort,
          receiver: d.receiver,
          nonce: d.nonce.toString(),
          gasLimit: d.gasLimit.toString(),
          timeoutHeight: d.timeoutHeight.toString(),
          timeoutUnixSeconds: d.timeoutUnixSeconds.toString(),
          payload: d.payload,
        }).toEqual(c.message);
      });
    }
  });

  describe('attestations', () => {
    for (const c of golden.attestations) {
      it(`${c.name}: QiaoAttestation gives the same domain separator and digest, and ECDSA recovers the signers`, async () => {
        const chainId = BigInt(c.domain.chainId);
        const a = c.attestation;
        expect(await check.getFunction('domainSeparator').staticCall(chainId, c.domain.verifyingContract)).toBe(c.domainSeparator);
        const digest = await check.getFunction('digest').staticCall(chainId, c.domain.verifyingContract, a.rootType, BigInt(a.setId), BigInt(a.batchNo), a.root);
        expect(digest).toBe(c.digest);
        for (const s of c.signatures) {
          expect(await check.getFunction('recover').staticCall(c.digest, s.signature)).toBe(s.signer);
        }
      });
    }
  });

  describe('batch trees', () => {
    for (const c of golden.merkle) {
      it(`${c.name}: QiaoMessage.leaf and OpenZeppelin MerkleProof accept the file's proofs and multiproofs`, async () => {
        for (const p of c.proofs) {
          expect(await check.getFunction('leaf').staticCall(p.id)).toBe(p.leaf);
          expect(await check.getFunction('verify').staticCall(p.proof, c.root, p.id)).toBe(true);
        }
        for (const mp of c.multiproofs) {
          expect(await check.getFunction('multiProofVerify').staticCall(mp.proof, mp.proofFlags, c.root, mp.leaves)).toBe(true);
        }
      });
    }

    it('refuses a proof for another id, another root, and a multiproof with its leaves swapped', async () => {
      const all = golden.merkle.find((t) => t.name === 'all-messages')!;
      const two = golden.merkle.find((t) => t.name === 'two-messages')!;
      const p0 = all.proofs[0]!;
      expect(await check.getFunction('verify').staticCall(p0.proof, all.root, all.proofs[1]!.id)).toBe(false);
      expect(await check.getFunction('verify').staticCall(p0.proof, two.root, p0.id)).toBe(false);
      const mp = all.multiproofs[0]!;
      const swapped = [...mp.leaves.slice(1), mp.leaves[0]!];
      expect(await check.getFunction('multiProofVerify').staticCall(mp.proof, mp.proofFlags, all.root, swapped)).toBe(false);
    });
  });
});
