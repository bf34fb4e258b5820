import { Contract, ContractFactory, HDNodeWallet, Interface, JsonRpcProvider, SigningKey, Wallet, getAddress, hexlify, keccak256, toUtf8Bytes, type ContractTransactionResponse, type TransactionReceipt } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { chainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError, findCause, ValidationError } from '../../src/errors.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { directGovernance } from '../../src/governance/govern.ts';
import { LANE_FEE_REGISTRY_ABI, LaneFeeClient, laneKey, parseWei } from '../../src/governance/lane-fees.ts';
import { snapshotOf, type RegistrySnapshot, type SnapshotLaneFee } from '../../src/registries/snapshot/builder.ts';
import { LEAF_KIND, laneFeeOfLeaf, type RegistryLeaf } from '../../src/registries/snapshot/leaves.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { revertOf } from '../helpers/revert.ts';

/**
 * Lane fees on anvil: the governance registry (LaneFeeRegistry through a
 * governance path), its entries as registry snapshot leaves, and the port that
 * takes them from an attested snapshot and charges them on send.
 */
const CHAIN_ID = 4331n;
const CHAIN = chainId(`eip155:${CHAIN_ID}`);
const DST = chainId('eip155:10');
const OTHER_DST = chainId('eip155:56');
const GOV_CHAIN_ID = 7751n;
const MESSAGE_LOG = getAddress(`0x${keccak256(toUtf8Bytes('lane fee test: MessageLog')).slice(-40)}`);
const MNEMONIC = 'test test test test test test test test test test test junk';
const attestorKey = new SigningKey(keccak256(toUtf8Bytes('lane fee test: attestor')));
const domain: AttestationDomain = { chainId: GOV_CHAIN_ID, verifyingContract: MESSAGE_LOG };
const GWEI = 10n ** 9n;

describe('lane fees on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let admin: Wallet;
  let outsider: HDNodeWallet;
  let port: Contract;
  let iface: Interface;
  let registry: LaneFeeClient;
  let registryIface: Interface;
  let snapshotNo = 0n;
  let takenAt = 1_000n;

  const fn = (c: Contract, name: string) => c.getFunction(name);
  const mined = async (p: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> => (await (await p).wait())!;
  const leafArg = (l: RegistryLeaf) => ({ kind: l.kind, key: l.key, a: l.a, b: l.b, status: l.status, validUntil: l.validUntil, data: l.data });
  const send = (c: Contract, dst: string, value: bigint) => fn(c, 'send')(dst, '0x1234', `0x${'22'.repeat(20)}`, 100_000n, 0n, 0n, hexlify(toUtf8Bytes('hello')), { value });

  /** A snapshot with these lane fees (and one unrelated identity), attested and accepted by the port. */
  async function publish(laneFees: SnapshotLaneFee[]): Promise<RegistrySnapshot> {
    snapshotNo += 1n;
    takenAt = BigInt((await provider.getBlock('latest'))!.timestamp);
    const snap = snapshotOf({
      blockNumber: snapshotNo,
      takenAt,
      identities: [{ didHash: keccak256(toUtf8Bytes('did:qiao:someone')) as Hex, controller: admin.address, documentHash: keccak256(toUtf8Bytes('doc')) as Hex, active: true }],
      accreditations: [],
      attestations: [],
      laneFees,
    });
    const sig = signAttestation(attestorKey, domain, { rootType: 2, setId: 1n, batchNo: snapshotNo, root: snap.attestedRoot });
    await mined(fn(port, 'acceptRegistryRoot')(1n, snapshotNo, snap.treeRoot, snap.takenAt, [sig]));
    return snap;
  }

  const feeProof = (snap: RegistrySnapshot, src: string, dst: string) => {
    const p = snap.proofFor('laneFee', laneKey(src, dst));
    if (!p) throw new Error(`no lane fee leaf ${src} > ${dst}`);
    return p;
  };

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: CHAIN_ID, args: ['--hardfork', 'cancun'] });
    provider = new JsonRpcProvider(anvil.url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
    admin = new Wallet(ANVIL_DEV_KEY, provider);
    outsider = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/1").connect(provider);
    const [ports, gov] = await Promise.all([portArtifacts(), governanceArtifacts()]);
    const P = ports.QiaoPort!;
    const deployed = await new ContractFactory(P.abi as never, P.bytecode, admin).deploy(CHAIN, GOV_CHAIN_ID, MESSAGE_LOG, [new Wallet(attestorKey).address], 1, 1n, 3600, 86_400);
    await deployed.waitForDeployment();
    port = deployed as unknown as Contract;
    iface = port.interface;
    // The governance side on the same anvil, governed by a plain key (a council proposal is the same call).
    const R = gov.LaneFeeRegistry;
    registryIface = new Interface(R.abi as never);
    const reg = await new ContractFactory(R.abi as never, R.bytecode, admin).deploy(admin.address);
    await reg.waitForDeployment();
    registry = new LaneFeeClient(provider, await reg.getAddress());
  }, 120_000);

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  describe('LaneFeeRegistry (governance chain)', () => {
    it('the client\'s written-out ABI is the compiled contract\'s', () => {
      const written = new Interface(LANE_FEE_REGISTRY_ABI as unknown as string[]);
      const sigs = (i: Interface) => [...i.fragments].map((f) => f.format('full')).sort();
      expect(sigs(written)).toEqual(sigs(registryIface).filter((s) => !s.startsWith('constructor') && !/GovernorChanged|setGovernor|ZeroAddress/.test(s)));
    });

    it('sets, reads and lists fees through governance; others are refused with typed errors', async () => {
      const gov = directGovernance(new TxSender(ANVIL_DEV_KEY, provider));
      expect(await registry.get(CHAIN, DST)).toBeNull();
      await registry.set(gov, { srcChain: CHAIN, dstChain: DST, fee: '0.001 ether', maxDstGasPrice: '50 gwei' });
      const got = await registry.get(CHAIN, DST);
      expect(got).toMatchObject({ srcChain: CHAIN, dstChain: DST, fee: 10n ** 15n, maxDstGasPrice: 50n * GWEI });
      await registry.set(gov, { srcChain: CHAIN, dstChain: DST, fee: 2n * 10n ** 15n, maxDstGasPrice: 60n * GWEI });
      await registry.set(gov, { srcChain: DST, dstChain: CHAIN, fee: 0n, maxDstGasPrice: 0n });
      const all = await registry.list();
      expect(all.map((f) => [f.srcChain, f.dstChain, f.fee, f.maxDstGasPrice])).toEqual([
        [CHAIN, DST, 2n * 10n ** 15n, 60n * GWEI],
        [DST, CHAIN, 0n, 0n],
      ]);
      expect(await fn(registry.contract, 'key').staticCall(CHAIN, DST)).toBe(laneKey(CHAIN, DST));

      // Not the governor: refused before anything is sent, with the contract's own error.
      const notGov = directGovernance(new TxSender(outsider.privateKey, provider));
      const err = await registry.set(notGov, { srcChain: CHAIN, dstChain: DST, fee: 1n, maxDstGasPrice: 1n }).catch((e: unknown) => e);
      expect(findCause(err, ContractRevertError)?.errorName).toBe('NotGovernor');
      // Bad input never reaches the chain; the chain refuses it too.
      expect(findCause(await registry.set(gov, { srcChain: 'nope', dstChain: DST, fee: 1n, maxDstGasPrice: 1n }).catch((e: unknown) => e), ValidationError)).toBeTruthy();
      expect(() => parseWei('-1', 'fee')).toThrow(ValidationError);
      expect(() => parseWei(1n << 128n, 'fee')).toThrow(ValidationError);
      const onChain = await revertOf(registryIface, fn(registry.contract.connect(admin) as Contract, 'setFee').staticCall('nocolon', DST, 1n, 1n));
      expect(onChain.name).toBe('BadChainId');
    });
  });

  describe('QiaoPort', () => {
    let first: RegistrySnapshot;

    it('lanes without a fee stay free: send takes no value, as before', async () => {
      expect(await fn(port, 'laneFee').staticCall(DST)).toBe(0n);
      await mined(send(port, DST, 0n));
      expect(await fn(port, 'feesAccrued').staticCall()).toBe(0n);
    });

    it('takes a lane fee from an accepted snapshot, then refuses a send that does not pay it', async () => {
      first = await publish([
        { srcChain: CHAIN, dstChain: DST, fee: 10n ** 15n, maxDstGasPrice: 50n * GWEI },
        { srcChain: DST, dstChain: CHAIN, fee: 7n, maxDstGasPrice: 0n },
      ]);
      const { leaf, proof } = feeProof(first, CHAIN, DST);
      expect(leaf.kind).toBe(LEAF_KIND.laneFee);
      expect(laneFeeOfLeaf(leaf)).toEqual({ fee: 10n ** 15n, maxDstGasPrice: 50n * GWEI });
      const r = await mined(fn(port.connect(outsider) as Contract, 'setLaneFee')(leafArg(leaf), proof));
      const ev = r.logs.map((l) => iface.parseLog(l)).find((e) => e?.name === 'LaneFeeSet')!;
      expect([ev.args[0], ev.args[1], ev.args[2], ev.args[3]]).toEqual([keccak256(toUtf8Bytes(DST)), 10n ** 15n, 50n * GWEI, snapshotNo]);
      expect(await fn(port, 'laneFee').staticCall(DST)).toBe(10n ** 15n);
      expect(await fn(port, 'laneFee').staticCall(OTHER_DST)).toBe(0n);

      const unpaid = await revertOf(iface, send(port, DST, 0n));
      expect(unpaid.name).toBe('InsufficientFee');
      expect([...unpaid.args]).toEqual([DST, 10n ** 15n, 0n]);
      expect((await revertOf(iface, send(port, DST, 10n ** 15n - 1n))).name).toBe('InsufficientFee');
      const before = (await fn(port, 'laneNonce').staticCall(keccak256(toUtf8Bytes(DST)))) as bigint;
      await mined(send(port, DST, 10n ** 15n));
      expect(await fn(port, 'laneNonce').staticCall(keccak256(toUtf8Bytes(DST)))).toBe(before + 1n);
      expect(await fn(port, 'feesAccrued').staticCall()).toBe(10n ** 15n);
      // Another lane is untouched.
      await mined(send(port, OTHER_DST, 0n));
    });

    it('sendRefundable takes the fee first and escrows only the rest', async () => {
      const refundable = (value: bigint) =>
        fn(port.connect(outsider) as Contract, 'sendRefundable')(DST, '0x1234', `0x${'22'.repeat(20)}`, 100_000n, 0n, 4_000_000_000n, '0x', { value });
      expect((await revertOf(iface, refundable(10n ** 15n - 1n))).name).toBe('InsufficientFee');
      const r = await mined(refundable(10n ** 15n + 5n));
      const sent = r.logs.map((l) => iface.parseLog(l)).find((e) => e?.name === 'MessageSent')!;
      const escrow = (await fn(port, 'escrows').staticCall(sent.args[0])) as [string, bigint];
      expect(escrow[0]).toBe(outsider.address);
      expect(escrow[1]).toBe(5n);
      expect(await fn(port, 'feesAccrued').staticCall()).toBe(2n * 10n ** 15n);
    });

    it('refuses a lane fee leaf that is not in the accepted root, of another source chain, or of another kind', async () => {
      const { leaf, proof } = feeProof(first, CHAIN, DST);
      const forged = { ...leafArg(leaf), data: `0x${'00'.repeat(31)}01` };
      const notIn = await revertOf(iface, fn(port, 'setLaneFee').staticCall(forged, proof));
      expect(notIn.name).toBe('LeafNotAccepted');
      expect(notIn.args[0]).toBe(3n);
      const other = feeProof(first, DST, CHAIN);
      expect((await revertOf(iface, fn(port, 'setLaneFee').staticCall(leafArg(other.leaf), other.proof))).name).toBe('WrongSourceChain');
      const identity = first.leaves.find((l) => l.kind === LEAF_KIND.identity)!;
      const ip = first.proofFor('identity', identity.key)!;
      expect((await revertOf(iface, fn(port, 'setLaneFee').staticCall(leafArg(identity), ip.proof))).name).toBe('NotLaneFeeLeaf');
    });

    it('a newer snapshot replaces the fee; the older snapshot\'s leaf can no longer overwrite it', async () => {
      const old = feeProof(first, CHAIN, DST);
      const second = await publish([{ srcChain: CHAIN, dstChain: DST, fee: 3n * 10n ** 15n, maxDstGasPrice: 80n * GWEI }]);
      const next = feeProof(second, CHAIN, DST);
      await mined(fn(port, 'setLaneFee')(leafArg(next.leaf), next.proof));
      expect(await fn(port, 'laneFee').staticCall(DST)).toBe(3n * 10n ** 15n);
      const stale = await revertOf(iface, fn(port, 'setLaneFee').staticCall(leafArg(old.leaf), old.proof));
      expect(stale.name).toBe('LeafNotAccepted');
      expect(stale.args[0]).toBe(3n);
      expect((await fn(port, 'laneFees').staticCall(keccak256(toUtf8Bytes(DST))))[1]).toBe(snapshotNo);
      // Governance frees the lane again: fee 0.
      const third = await publish([{ srcChain: CHAIN, dstChain: DST, fee: 0n, maxDstGasPrice: 0n }]);
      const free = feeProof(third, CHAIN, DST);
      await mined(fn(port, 'setLaneFee')(leafArg(free.leaf), free.proof));
      await mined(send(port, DST, 0n));
    });

    it('a snapshot older than maxRegistryAge cannot set a fee', async () => {
      const snap = await publish([{ srcChain: CHAIN, dstChain: DST, fee: 9n, maxDstGasPrice: 0n }]);
      await provider.send('evm_increaseTime', [86_401]);
      await provider.send('evm_mine', []);
      const { leaf, proof } = feeProof(snap, CHAIN, DST);
      const tooOld = await revertOf(iface, fn(port, 'setLaneFee').staticCall(leafArg(leaf), proof));
      expect([tooOld.name, tooOld.args[0]]).toEqual(['LeafNotAccepted', 2n]);
    });

    it('only the admin withdraws the fees, and never the escrows', async () => {
      const fees = (await fn(port, 'feesAccrued').staticCall()) as bigint;
      const portBalance = await provider.getBalance(await port.getAddress());
      expect((await revertOf(iface, fn(port.connect(outsider) as Contract, 'withdrawFees').staticCall(outsider.address))).name).toBe('NotAdmin');
      const to = Wallet.createRandom().address;
      await mined(fn(port, 'withdrawFees')(to));
      expect(await provider.getBalance(to)).toBe(fees);
      expect(await provider.getBalance(await port.getAddress())).toBe(portBalance - fees);
      expect(await provider.getBalance(await port.getAddress())).toBe(5n);
      expect((await revertOf(iface, fn(port, 'withdrawFees').staticCall(to))).name).toBe('NothingToClaim');
    });
  });
});
