import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  Contract,
  ContractFactory,
  HDNodeWallet,
  JsonRpcProvider,
  SigningKey,
  Wallet,
  getAddress,
  hexlify,
  toBeHex,
  keccak256,
  toUtf8Bytes,
  zeroPadValue,
  type ContractTransactionResponse,
  type TransactionReceipt,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_TYPE, signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { chainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { AttestorRefusalError } from '../../src/errors.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { governanceArtifacts, type GovernanceArtifacts } from '../../src/governance/artifacts.ts';
import { AttestorSetClient, attestorSetRoot } from '../../src/governance/attestor-set.ts';
import { GovernanceClient } from '../../src/governance/client.ts';
import { directGovernance } from '../../src/governance/govern.ts';
import { registrySnapshotRoot, SnapshotLogClient } from '../../src/governance/snapshots.ts';
import type { CompiledSet } from '../../src/governance/solc.ts';
import { silentLogger } from '../../src/logging.ts';
import { Attestor, type SnapshotSource } from '../../relayer/attestor/attestor.ts';
import { SignedRootRecord } from '../../relayer/attestor/record.ts';
import { signaturesForPort } from '../../relayer/roots/signatures.ts';
import { createEvmAdapter } from '../../adapters/evm/adapter.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { revertOf } from '../helpers/revert.ts';

/**
 * The roots besides message batches, on one anvil that plays both the governance
 * chain (AttestorSet, MessageLog) and a member chain (QiaoPort): the attestor-set
 * hand-over (root type 3) and registry snapshots (root type 2).
 */
const CHAIN_ID = 4322n;
const CHAIN_NAME = chainId(`eip155:${CHAIN_ID}`);
const GRACE = 3600;
const MAX_AGE = 86_400;
const REGISTRY_LEAF = ['uint8', 'bytes32', 'bytes32', 'bytes32', 'uint8', 'uint64', 'bytes32'];
const MNEMONIC = 'test test test test test test test test test test test junk';

const keyOf = (label: string) => new SigningKey(keccak256(toUtf8Bytes(label)));
const addr = (k: SigningKey) => new Wallet(k).address;
const set1 = [1, 2, 3].map((i) => keyOf(`roots test: set 1 attestor ${i}`));
const set3 = [1, 2, 3].map((i) => keyOf(`roots test: set 3 attestor ${i}`));
const replaced = [1, 2].map((i) => keyOf(`roots test: replaced proposal ${i}`));


type Leaf = [number, Hex, Hex, Hex, number, bigint, Hex];
const leafArg = (l: Leaf) => ({ kind: l[0], key: l[1], a: l[2], b: l[3], status: l[4], validUntil: l[5], data: l[6] });
const h = (s: string) => keccak256(toUtf8Bytes(s)) as Hex;
const ZERO = zeroPadValue('0x', 32) as Hex;
const leaves0: Leaf = [1, keccak256(toUtf8Bytes('did:qiao:adapter')) as Hex, ZERO, ZERO, 1, 0n, ZERO];

describe('attestor-set hand-over and registry roots on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let admin: Wallet;
  let outsider: HDNodeWallet;
  let compiled: CompiledSet;
  let artifacts: GovernanceArtifacts;
  let attestorSet: Contract;
  let messageLog: Contract;
  let port: Contract;
  let receiver: Contract;
  let portAddr: Hex;
  let receiverAddr: Hex;
  let gov: GovernanceClient;
  let sets: AttestorSetClient;
  let snapshots: SnapshotLogClient;
  let domain: AttestationDomain;
  let dataDir: string;
  let nonce = 1n;
  let batchNo = 1n;

  const fn = (c: Contract, name: string) => c.getFunction(name);
  const mined = async (p: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> => (await (await p).wait())!;
  const now = async () => BigInt((await provider.getBlock('latest'))!.timestamp);
  const increaseTime = async (s: number) => {
    await provider.send('evm_increaseTime', [s]);
    await provider.send('evm_mine', []);
  };
  const sign = (keys: SigningKey[], rootType: 1 | 2 | 3, setId: bigint, batch: bigint, root: Hex) => keys.map((k) => signAttestation(k, domain, { rootType, setId, batchNo: batch, root }));

  function inbound(): Hex {
    const m: QiaoMessage = {
      version: 1,
      srcChain: chainId('cosmos:cosmoshub-4'),
      srcPort: h('roots test: cosmos port'),
      sender: h('roots test: cosmos sender'),
      dstChain: CHAIN_NAME,
      dstPort: portAddr,
      receiver: receiverAddr,
      nonce: nonce++,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: hexlify(toUtf8Bytes('hello')) as Hex,
    };
    return encodeMessage(m);
  }

  /** deliverBatch arguments for one fresh message signed by `keys` as set `setId`. */
  function batchOf(keys: SigningKey[], setId: bigint) {
    const m = inbound();
    const tree = MessageTree.of([messageId(m), h(`filler ${batchNo}`)]);
    const n = batchNo++;
    return { id: messageId(m), args: [setId, n, tree.root, sign(keys, 1, setId, n, tree.root), [m], [tree.proof(messageId(m))]] as const };
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'qiao-roots-'));
    [compiled, artifacts] = await Promise.all([
      portArtifacts().then((a) => ({ ...a }) as CompiledSet),
      governanceArtifacts(),
    ]);
    anvil = await startAnvil({ chainId: CHAIN_ID, args: ['--hardfork', 'cancun'] });
    provider = new JsonRpcProvider(anvil.url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
    admin = new Wallet(ANVIL_DEV_KEY, provider);
    outsider = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/1").connect(provider);
    const deploy = async (a: { abi: unknown[]; bytecode: string }, args: unknown[]) => {
      const c = await new ContractFactory(a.abi as never, a.bytecode, admin).deploy(...args);
      await c.waitForDeployment();
      return c as unknown as Contract;
    };
    attestorSet = await deploy(artifacts.AttestorSet, [admin.address, set1.map(addr), 2]);
    messageLog = await deploy(artifacts.MessageLog, [admin.address]);
    const logAddr = await messageLog.getAddress();
    await mined(fn(attestorSet, 'setMessageLog')(logAddr));
    await mined(fn(messageLog, 'setCommitter')(admin.address, true));
    domain = { chainId: CHAIN_ID, verifyingContract: logAddr };
    port = await deploy(compiled.QiaoPort!, [CHAIN_NAME, CHAIN_ID, logAddr, set1.map(addr), 2, 1n, GRACE, MAX_AGE]);
    portAddr = (await port.getAddress()).toLowerCase() as Hex;
    receiver = await deploy(compiled.DemoReceiver!, [portAddr]);
    receiverAddr = (await receiver.getAddress()).toLowerCase() as Hex;
    gov = new GovernanceClient(provider, CHAIN_ID, { chainRegistry: getAddress(h('roots test: no registry').slice(0, 42)), attestorSet: await attestorSet.getAddress(), messageLog: logAddr }, artifacts);
    sets = new AttestorSetClient(gov);
    snapshots = new SnapshotLogClient(gov);
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  describe('AttestorSet (governance chain)', () => {
    const asIface = () => attestorSet.interface;

    it('the MessageLog address is set once', async () => {
      expect(getAddress(await fn(attestorSet, 'messageLog').staticCall())).toBe(getAddress(domain.verifyingContract));
      expect((await revertOf(asIface(), fn(attestorSet, 'setMessageLog').staticCall(admin.address))).name).toBe('MessageLogAlreadySet');
      const err = await revertOf(asIface(), (attestorSet.connect(outsider) as Contract).getFunction('setMessageLog').staticCall(admin.address));
      expect(err.name).toBe('NotGovernor');
    });

    it('only governance proposes; a proposal takes a fresh id and replaces the pending one', async () => {
      const err = await revertOf(asIface(), (attestorSet.connect(outsider) as Contract).getFunction('proposeSet').staticCall(set3.map(addr), 2));
      expect(err.name).toBe('NotGovernor');
      expect(await sets.pending()).toBeNull();
      const path = directGovernance(new TxSender(ANVIL_DEV_KEY, provider));
      await expect(sets.proposeSet(path, [addr(set3[0]!)], 2)).rejects.toMatchObject({ field: 'attestors.threshold' });

      await sets.proposeSet(path, replaced.map(addr), 2);
      expect(await sets.pending()).toEqual({ setId: 2n, threshold: 2, members: replaced.map(addr) });
      // The set 1 signs id 2; governance then replaces the proposal before it is activated.
      const stale = sign(set1.slice(0, 2), 3, 1n, 2n, attestorSetRoot(2n, replaced.map(addr), 2));
      const r = await path.execute(await attestorSet.getAddress(), asIface().encodeFunctionData('proposeSet', [set3.map(addr), 2]) as Hex, 'set 3');
      expect(r.executed).toBe(true);
      const pending = (await sets.pending())!;
      expect(pending).toEqual({ setId: 3n, threshold: 2, members: set3.map(addr) });
      const proposed = (await provider.getTransactionReceipt(r.txHash))!.logs.map((l) => asIface().parseLog(l)!).find((e) => e.name === 'SetProposed')!;
      expect(proposed.args[3]).toBe(attestorSetRoot(3n, set3.map(addr), 2));
      // The replaced proposal's signatures cannot activate its successor.
      const e2 = await revertOf(asIface(), fn(attestorSet, 'activate').staticCall(stale));
      expect([e2.name, e2.args[0], e2.args[1]]).toEqual(['NotEnoughSignatures', 0n, 2n]);
    });

    it('activate needs threshold signatures of the CURRENT set over the set root, type 3, this domain', async () => {
      const root = attestorSetRoot(3n, set3.map(addr), 2);
      const notEnough = async (sigs: Hex[], valid: bigint) => {
        const err = await revertOf(attestorSet.interface, fn(attestorSet, 'activate').staticCall(sigs));
        expect([err.name, err.args[0], err.args[1]]).toEqual(['NotEnoughSignatures', valid, 2n]);
      };
      await notEnough(sign(set1.slice(0, 1), 3, 1n, 3n, root), 1n);
      await notEnough(sign(set3.slice(0, 2), 3, 1n, 3n, root), 0n);
      await notEnough(sign(set1.slice(0, 2), 1, 1n, 3n, root), 0n);
      await notEnough(sign(set1.slice(0, 2), 3, 1n, 4n, root), 0n);
      await notEnough(set1.slice(0, 2).map((k) => signAttestation(k, { ...domain, chainId: CHAIN_ID + 1n }, { rootType: 3, setId: 1n, batchNo: 3n, root })), 0n);

      const good = sign([set1[0]!, set1[2]!], 3, 1n, 3n, root);
      const r = await sets.activate(new TxSender(ANVIL_DEV_KEY, provider), good);
      const evs = r.logs.map((l) => attestorSet.interface.parseLog(l)!);
      expect(evs.map((e) => e.name)).toEqual(['SetChanged', 'SetActivated']);
      expect(await sets.current()).toEqual({ setId: 3n, threshold: 2, members: set3.map(addr) });
      expect(await sets.pending()).toBeNull();
      expect((await revertOf(attestorSet.interface, fn(attestorSet, 'activate').staticCall(good))).name).toBe('NoPendingSet');
      const hops = await sets.handOversSince(1n);
      expect(hops).toEqual([{ setId: 3n, threshold: 2, members: set3.map(addr), previousSetId: 1n, activatedBlock: BigInt(r.blockNumber), signatures: good }]);
      expect(await sets.handOversSince(3n)).toEqual([]);
      expect(await sets.handOversSince(2n)).toBeNull();
    });
  });

  describe('QiaoPort.rotateAttestors', () => {
    const piface = () => port.interface;
    const received = async (id: Hex) => (await fn(receiver, 'timesReceived').staticCall(id)) as bigint;

    it('refuses a stale id, too few signatures, and signatures of a set that is not the port\'s current one', async () => {
      const hop = (await sets.handOversSince(1n))![0]!;
      const rotate = (id: bigint, sigs: Hex[]) => revertOf(piface(), fn(port, 'rotateAttestors').staticCall(id, hop.members, hop.threshold, sigs));
      const stale = await rotate(1n, hop.signatures);
      expect([stale.name, stale.args[0], stale.args[1]]).toEqual(['StaleSetId', 1n, 1n]);
      const one = await rotate(3n, hop.signatures.slice(0, 1));
      expect([one.name, one.args[0]]).toEqual(['NotEnoughSignatures', 1n]);
      const byNew = await rotate(3n, sign(set3.slice(0, 2), 3, 1n, 3n, attestorSetRoot(3n, hop.members, hop.threshold)));
      expect([byNew.name, byNew.args[0]]).toEqual(['NotEnoughSignatures', 0n]);
      // Members other than the signed ones: the root differs, no signature recovers to the set.
      const other = await revertOf(piface(), fn(port, 'rotateAttestors').staticCall(3n, [...hop.members].reverse(), hop.threshold, hop.signatures));
      expect([other.name, other.args[0]]).toEqual(['NotEnoughSignatures', 0n]);
      expect(await fn(port, 'setId').staticCall()).toBe(1n);
    });

    it('the governance chain\'s hand-over (any sender) moves the port to the new set; the old set keeps delivering for the grace window only', async () => {
      const before = batchOf(set1.slice(0, 2), 1n);
      const hop = (await sets.handOversSince(1n))![0]!;
      const r = await mined((port.connect(outsider) as Contract).getFunction('rotateAttestors')(hop.setId, hop.members, hop.threshold, hop.signatures));
      const t = BigInt((await provider.getBlock(r.blockNumber))!.timestamp);
      const ev = r.logs.map((l) => piface().parseLog(l)!).find((e) => e.name === 'AttestorsRotated')!;
      expect([ev.args[0], ev.args[1], ev.args[2]]).toEqual([1n, 3n, t + BigInt(GRACE)]);
      expect(await fn(port, 'setId').staticCall()).toBe(3n);
      expect(await fn(port, 'threshold').staticCall()).toBe(2n);
      expect((await fn(port, 'attestors').staticCall()).map(getAddress)).toEqual(set3.map(addr));
      expect(await fn(port, 'isAttestor').staticCall(addr(set3[1]!))).toBe(true);
      expect(await fn(port, 'isAttestor').staticCall(addr(set1[1]!))).toBe(false);
      expect([await fn(port, 'previousSetId').staticCall(), await fn(port, 'previousValidUntil').staticCall()]).toEqual([1n, t + BigInt(GRACE)]);

      // Signed by set 1 before the hand-over: still delivers within the grace window.
      await mined(fn(port, 'deliverBatch')(...before.args));
      expect(await received(before.id)).toBe(1n);
      // The new set delivers.
      const fresh = batchOf([set3[0]!, set3[2]!], 3n);
      await mined(fn(port, 'deliverBatch')(...fresh.args));
      expect(await received(fresh.id)).toBe(1n);
      // The old set cannot sign the next hand-over.
      const next = [addr(set1[0]!)];
      const err = await revertOf(piface(), fn(port, 'rotateAttestors').staticCall(4n, next, 1, sign(set1.slice(0, 2), 3, 1n, 4n, attestorSetRoot(4n, next, 1))));
      expect([err.name, err.args[0]]).toEqual(['NotEnoughSignatures', 0n]);

      // Past the grace window, set 1 is refused by name and nothing is delivered.
      const late = batchOf(set1.slice(0, 2), 1n);
      await increaseTime(GRACE + 1);
      const refused = await revertOf(piface(), fn(port, 'deliverBatch').staticCall(...late.args));
      expect([refused.name, refused.args[0], refused.args[1]]).toEqual(['WrongSetId', 3n, 1n]);
      expect(await received(late.id)).toBe(0n);
    });

    it('admin bootstrap: setAttestors only by the admin, only to a higher id, with no grace for the set it replaces', async () => {
      const err = await revertOf(piface(), (port.connect(outsider) as Contract).getFunction('setAttestors').staticCall(set1.map(addr), 2, 9n));
      expect(err.name).toBe('NotAdmin');
      const lower = await revertOf(piface(), fn(port, 'setAttestors').staticCall(set1.map(addr), 2, 3n));
      expect([lower.name, lower.args[0], lower.args[1]]).toEqual(['StaleSetId', 3n, 3n]);
      const grace = await revertOf(piface(), (port.connect(outsider) as Contract).getFunction('setRotationGraceSeconds').staticCall(1n));
      expect(grace.name).toBe('NotAdmin');
    });
  });

  describe('registry roots (root type 2)', () => {
    const piface = () => port.interface;
    const did = (n: number) => h(`did:qiao:roots-${n}`);
    const leaves: Leaf[] = [
      [1, did(1), zeroPadValue(addr(set1[0]!), 32) as Hex, h('doc 1'), 1, 0n, ZERO],
      [1, did(2), zeroPadValue(addr(set1[1]!), 32) as Hex, h('doc 2'), 2, 0n, ZERO],
      [3, h('uid 1'), did(1), h('schema grade'), 1, 4_000_000_000n, h('issuer+public data')],
    ];
    const treeOf = (ls: Leaf[]) => StandardMerkleTree.of(ls, REGISTRY_LEAF);
    const check = async (l: Leaf, proof: string[]) => Number(await fn(port, 'checkRegistryLeaf').staticCall(leafArg(l), proof));
    const signed = (snapshotNo: bigint, treeRoot: Hex, takenAt: bigint, keys = set3.slice(0, 2), setId = 3n) =>
      sign(keys, ROOT_TYPE.registrySnapshot, setId, snapshotNo, registrySnapshotRoot(treeRoot, takenAt));
    let tree1: StandardMerkleTree<Leaf>;

    it('without a root every leaf is refused with code 1', async () => {
      expect([...(await fn(port, 'registryRootInfo').staticCall())]).toEqual([0n, ZERO, 0n]);
      expect(await check(leaves[0]!, [])).toBe(1);
      expect(await fn(port, 'verifyRegistryLeaf').staticCall(leafArg(leaves[0]!), [])).toBe(false);
    });

    it('MessageLog takes sequential snapshots of past blocks from the committer only', async () => {
      tree1 = treeOf(leaves);
      const head = BigInt(await provider.getBlockNumber());
      const takenAt = BigInt((await provider.getBlock(head))!.timestamp);
      const lg = messageLog.interface;
      const outsiderCall = await revertOf(lg, (messageLog.connect(outsider) as Contract).getFunction('commitSnapshot').staticCall(1n, tree1.root, takenAt, head));
      expect(outsiderCall.name).toBe('NotCommitter');
      const wrongNo = await revertOf(lg, fn(messageLog, 'commitSnapshot').staticCall(2n, tree1.root, takenAt, head));
      expect([wrongNo.name, wrongNo.args[0], wrongNo.args[1]]).toEqual(['WrongSnapshotNo', 1n, 2n]);
      expect((await revertOf(lg, fn(messageLog, 'commitSnapshot').staticCall(1n, ZERO, takenAt, head))).name).toBe('BadSnapshot');
      expect((await revertOf(lg, fn(messageLog, 'commitSnapshot').staticCall(1n, tree1.root, takenAt, head + 5n))).name).toBe('BadSnapshot');
      const admin_ = new TxSender(ANVIL_DEV_KEY, provider);
      const r = await snapshots.commit(admin_, { snapshotNo: 1n, treeRoot: tree1.root as Hex, takenAt, sourceBlock: head });
      expect(await snapshots.latest()).toEqual({ snapshotNo: 1n, treeRoot: tree1.root, takenAt, sourceBlock: head, blockNumber: BigInt(r.blockNumber) });
      // Never an older state under a newer number.
      await expect(snapshots.commit(admin_, { snapshotNo: 2n, treeRoot: h('older'), takenAt, sourceBlock: head - 1n })).rejects.toMatchObject({ errorName: 'BadSnapshot' });
      expect(await snapshots.nextSnapshotNo()).toBe(2n);
    });

    it('accepts an attested snapshot from the current set; leaves check out against it, others are refused with code 3', async () => {
      const { takenAt } = (await snapshots.latest())!;
      const root = tree1.root as Hex;
      const few = await revertOf(piface(), fn(port, 'acceptRegistryRoot').staticCall(3n, 1n, root, takenAt, signed(1n, root, takenAt, set3.slice(0, 1))));
      expect([few.name, few.args[0], few.args[1]]).toEqual(['NotEnoughSignatures', 1n, 2n]);
      const asMessages = sign(set3.slice(0, 2), 1, 3n, 1n, registrySnapshotRoot(root, takenAt));
      expect((await revertOf(piface(), fn(port, 'acceptRegistryRoot').staticCall(3n, 1n, root, takenAt, asMessages))).args[0]).toBe(0n);
      const otherTime = await revertOf(piface(), fn(port, 'acceptRegistryRoot').staticCall(3n, 1n, root, takenAt + 1n, signed(1n, root, takenAt)));
      expect([otherTime.name, otherTime.args[0]]).toEqual(['NotEnoughSignatures', 0n]);
      // Set 1's grace window is over: it cannot sign snapshots either.
      const oldSet = await revertOf(piface(), fn(port, 'acceptRegistryRoot').staticCall(1n, 1n, root, takenAt, signed(1n, root, takenAt, set1.slice(0, 2), 1n)));
      expect([oldSet.name, oldSet.args[0], oldSet.args[1]]).toEqual(['WrongSetId', 3n, 1n]);

      const r = await mined((port.connect(outsider) as Contract).getFunction('acceptRegistryRoot')(3n, 1n, root, takenAt, signed(1n, root, takenAt)));
      const ev = r.logs.map((l) => piface().parseLog(l)!).find((e) => e.name === 'RegistryRootAccepted')!;
      expect([ev.args[0], ev.args[1], ev.args[2], ev.args[3]]).toEqual([3n, 1n, root, takenAt]);
      expect([...(await fn(port, 'registryRootInfo').staticCall())]).toEqual([1n, root, takenAt]);

      for (const [i, l] of leaves.entries()) {
        expect(await check(l, tree1.getProof(i))).toBe(0);
        expect(await fn(port, 'verifyRegistryLeaf').staticCall(leafArg(l), tree1.getProof(i))).toBe(true);
      }
      // The same leaf with another status (revoked, 2) is not in the snapshot.
      const altered: Leaf = [...leaves[2]!];
      altered[4] = 2;
      expect(await check(altered, tree1.getProof(2))).toBe(3);
      const absent: Leaf = [3, h('uid never issued'), did(1), h('schema grade'), 1, 0n, ZERO];
      expect(await check(absent, tree1.getProof(2))).toBe(3);
      expect(await fn(port, 'verifyRegistryLeaf').staticCall(leafArg(absent), tree1.getProof(2))).toBe(false);
    });

    it('refuses a stale snapshot number; a newer snapshot supersedes: proofs against the old root are refused', async () => {
      const { takenAt } = (await snapshots.latest())!;
      const root = tree1.root as Hex;
      const again = await revertOf(piface(), fn(port, 'acceptRegistryRoot').staticCall(3n, 1n, root, takenAt, signed(1n, root, takenAt)));
      expect([again.name, again.args[0], again.args[1]]).toEqual(['StaleSnapshot', 1n, 1n]);

      // Snapshot 2: the credit attestation was revoked.
      const revoked: Leaf = [...leaves[2]!];
      revoked[4] = 2;
      const tree2 = treeOf([leaves[0]!, leaves[1]!, revoked]);
      const t2 = await now();
      await mined(fn(port, 'acceptRegistryRoot')(3n, 2n, tree2.root, t2, signed(2n, tree2.root as Hex, t2)));
      expect([...(await fn(port, 'registryRootInfo').staticCall())]).toEqual([2n, tree2.root, t2]);
      expect(await check(leaves[2]!, tree1.getProof(2))).toBe(3);
      expect(await check(revoked, tree2.getProof(2))).toBe(0);
      const older = await revertOf(piface(), fn(port, 'acceptRegistryRoot').staticCall(3n, 1n, root, takenAt, signed(1n, root, takenAt)));
      expect([older.name, older.args[0], older.args[1]]).toEqual(['StaleSnapshot', 2n, 1n]);
    });

    it('a root older than maxRegistryAge is refused with code 2; the admin sets the age', async () => {
      const [, treeRoot, takenAt] = (await fn(port, 'registryRootInfo').staticCall()) as [bigint, Hex, bigint];
      const tree2 = treeOf([leaves[0]!, leaves[1]!, [leaves[2]![0], leaves[2]![1], leaves[2]![2], leaves[2]![3], 2, leaves[2]![5], leaves[2]![6]]]);
      expect(tree2.root).toBe(treeRoot);
      const proof = tree2.getProof(0);
      const leaf = tree2.at(0)!;
      expect(await check(leaf, proof)).toBe(0);
      // Exactly at takenAt + maxAge the root is still good; one second later it is too old.
      await provider.send('evm_setNextBlockTimestamp', [Number(takenAt) + MAX_AGE]);
      await provider.send('evm_mine', []);
      expect(await check(leaf, proof)).toBe(0);
      await increaseTime(1);
      expect(await check(leaf, proof)).toBe(2);
      expect(await fn(port, 'verifyRegistryLeaf').staticCall(leafArg(leaf), proof)).toBe(false);
      const err = await revertOf(port.interface, (port.connect(outsider) as Contract).getFunction('setMaxRegistryAge').staticCall(10n * 86_400n));
      expect(err.name).toBe('NotAdmin');
      await mined(fn(port, 'setMaxRegistryAge')(10n * 86_400n));
      expect(await check(leaf, proof)).toBe(0);
      expect(await fn(port, 'maxRegistryAge').staticCall()).toBe(10n * 86_400n);
    });
  });

  describe('EVM adapter: the port capabilities the relayer uses', () => {
    it('reads the sets a port takes, carries a hand-over, picks signatures by grace window, and delivers registry roots', async () => {
      const P = compiled.QiaoPort!;
      const fresh = (await (await new ContractFactory(P.abi as never, P.bytecode, admin).deploy(CHAIN_NAME, CHAIN_ID, domain.verifyingContract, set1.map(addr), 2, 1n, GRACE, MAX_AGE)).waitForDeployment()) as unknown as Contract;
      const relayerKey = Wallet.createRandom();
      await provider.send('anvil_setBalance', [relayerKey.address, toBeHex(10n ** 20n)]);
      const reg: ChainRegistration = {
        chainId: CHAIN_NAME,
        family: 'evm',
        genesisHash: (await provider.getBlock(0))!.hash as Hex,
        port: (await fresh.getAddress()).toLowerCase() as Hex,
        lightClient: 'local-dev',
        trustRoot: '0x',
        finality: { kind: 'depth', depth: 0 },
        endpoints: [anvil.url],
        status: 'approved',
      };
      const adapter = await createEvmAdapter(reg, { logger: silentLogger(), relayerKey: relayerKey.privateKey as Hex });
      try {
        const d = adapter.deliverer;
        const s0 = await d.attestorState!();
        expect(s0).toMatchObject({ setId: 1n, threshold: 2, members: set1.map(addr), previous: null });
        const hop = (await sets.handOversSince(1n))![0]!;
        await expect(d.rotateAttestors!({ newSetId: hop.setId, members: hop.members, threshold: hop.threshold, signatures: hop.signatures.slice(0, 1) })).rejects.toMatchObject({
          errorName: 'NotEnoughSignatures',
          data: { args: ['1', '2'] },
        });
        const tx = await d.rotateAttestors!({ newSetId: hop.setId, members: hop.members, threshold: hop.threshold, signatures: hop.signatures });
        const rotatedAt = BigInt((await provider.getBlock(Number(tx.height)))!.timestamp);
        const s1 = await d.attestorState!();
        expect(s1).toMatchObject({ setId: 3n, threshold: 2, members: set3.map(addr), previous: { setId: 1n, threshold: 2, validUntil: rotatedAt + BigInt(GRACE) } });

        // Which stored signatures go to this port: the current set's first, the previous set's within the grace window.
        const root = h('a batch root');
        const row = (k: SigningKey, setId: bigint) => ({ batchNo: '9', rootType: 1, setId: setId.toString(), attestor: addr(k), signature: sign([k], 1, setId, 9n, root)[0]!, createdAt: new Date() });
        const old = [row(set1[0]!, 1n), row(set1[1]!, 1n)];
        const both = [...old, row(set3[0]!, 3n), row(set3[2]!, 3n)];
        expect(signaturesForPort(both, s1)).toEqual({ setId: 3n, signatures: both.slice(2).map((r) => r.signature) });
        expect(signaturesForPort(old, s1)).toEqual({ setId: 1n, signatures: old.map((r) => r.signature) });
        expect(signaturesForPort(old.slice(0, 1), s1)).toBeNull();
        expect(signaturesForPort(old, { ...s1, now: rotatedAt + BigInt(GRACE) })).toBeNull();

        const t = await now();
        const tree = StandardMerkleTree.of([leaves0], REGISTRY_LEAF);
        expect(await d.registryRoot!()).toEqual({ snapshotNo: 0n, treeRoot: ZERO, takenAt: 0n });
        await d.acceptRegistryRoot!({ setId: 1n, snapshotNo: 5n, treeRoot: tree.root as Hex, takenAt: t, signatures: sign(set1.slice(0, 2), 2, 1n, 5n, registrySnapshotRoot(tree.root as Hex, t)) });
        expect(await d.registryRoot!()).toEqual({ snapshotNo: 5n, treeRoot: tree.root, takenAt: t });
        await expect(
          d.acceptRegistryRoot!({ setId: 3n, snapshotNo: 5n, treeRoot: tree.root as Hex, takenAt: t, signatures: sign(set3.slice(0, 2), 2, 3n, 5n, registrySnapshotRoot(tree.root as Hex, t)) }),
        ).rejects.toMatchObject({ errorName: 'StaleSnapshot' });
      } finally {
        await adapter.close();
      }
      // A contract without these functions (a port from before them) is used without the capabilities.
      const legacy = await createEvmAdapter(
        { ...reg, port: receiverAddr },
        { logger: silentLogger(), relayerKey: relayerKey.privateKey as Hex },
      );
      expect([legacy.deliverer.attestorState, legacy.deliverer.rotateAttestors, legacy.deliverer.registryRoot, legacy.deliverer.acceptRegistryRoot]).toEqual([undefined, undefined, undefined, undefined]);
      await legacy.close();
    });
  });

  describe('attestor (TypeScript) over these roots', () => {
    it('signs a pending set only as a member of the current set, once per id; a different root at a signed id halts it', async () => {
      const path = directGovernance(new TxSender(ANVIL_DEV_KEY, provider));
      const next = [addr(set1[0]!), addr(set1[1]!)];
      await sets.proposeSet(path, next, 1);
      const pending = (await sets.pending())!;
      const record = SignedRootRecord.open(join(dataDir, 'a1.jsonl'));
      const a = new Attestor(hexlify(set3[0]!.privateKey) as Hex, gov, record, { finalityDepth: 0, logger: silentLogger() });
      const sig = await a.attestAttestorSet(pending.setId);
      expect(sig).toMatchObject({ setId: 3n, root: attestorSetRoot(pending.setId, next, 1) });
      // Idempotent: the same root again is the same signature.
      expect((await a.attestAttestorSet(pending.setId)).signature).toBe(sig.signature);
      const outsiderAttestor = new Attestor(hexlify(set1[2]!.privateKey) as Hex, gov, SignedRootRecord.open(join(dataDir, 'a2.jsonl')), { finalityDepth: 0, logger: silentLogger() });
      await expect(outsiderAttestor.attestAttestorSet(pending.setId)).rejects.toBeInstanceOf(AttestorRefusalError);
      await expect(a.attestAttestorSet(pending.setId + 7n)).rejects.toBeInstanceOf(AttestorRefusalError);

      // A record that says another root was signed at this id (as after a rollback) halts the attestor.
      const conflicted = SignedRootRecord.open(join(dataDir, 'a3.jsonl'));
      conflicted.put(ROOT_TYPE.attestorSet, pending.setId, h('another set'), 3n);
      const b = new Attestor(hexlify(set3[1]!.privateKey) as Hex, gov, conflicted, { finalityDepth: 0, logger: silentLogger() });
      await expect(b.attestAttestorSet(pending.setId)).rejects.toMatchObject({ reason: 'conflicting_root' });
      expect(b.isHalted).toBe(true);
      await expect(b.attestMessages(1n)).rejects.toMatchObject({ reason: 'halted' });
    });

    it('signs a registry snapshot only when its own reader rebuilds the same tree at the source block', async () => {
      const latest = (await snapshots.latest())!;
      const honest: SnapshotSource = async (block) => ({ treeRoot: latest.treeRoot, takenAt: BigInt((await provider.getBlock(block))!.timestamp), blockNumber: block });
      const lying: SnapshotSource = async (block) => ({ ...(await honest(block)), treeRoot: h('something else') });
      const a = new Attestor(hexlify(set3[2]!.privateKey) as Hex, gov, SignedRootRecord.open(join(dataDir, 'a4.jsonl')), { finalityDepth: 0, logger: silentLogger(), snapshots: honest });
      const sig = await a.attestSnapshot(latest.snapshotNo);
      expect(sig).toMatchObject({ setId: 3n, root: registrySnapshotRoot(latest.treeRoot, latest.takenAt) });
      const b = new Attestor(hexlify(set3[1]!.privateKey) as Hex, gov, SignedRootRecord.open(join(dataDir, 'a5.jsonl')), { finalityDepth: 0, logger: silentLogger(), snapshots: lying });
      await expect(b.attestSnapshot(latest.snapshotNo)).rejects.toMatchObject({ reason: 'root_mismatch' });
      await expect(a.attestSnapshot(latest.snapshotNo + 1n)).rejects.toMatchObject({ code: 'not_ready' });
      const blind = new Attestor(hexlify(set3[1]!.privateKey) as Hex, gov, SignedRootRecord.open(join(dataDir, 'a6.jsonl')), { finalityDepth: 0, logger: silentLogger() });
      expect(blind.attestsSnapshots).toBe(false);
      await expect(blind.attestSnapshot(latest.snapshotNo)).rejects.toMatchObject({ code: 'config_invalid' });
    });
  });
});
