import { SigningKey, computeAddress } from 'ethers';
import type { Logger } from 'pino';
import { ROOT_TYPE, signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { AttestorRefusalError, ConfigError, NotReadyError } from '../../src/errors.ts';
import { AttestorSetClient, attestorSetRoot } from '../../src/governance/attestor-set.ts';
import type { GovernanceClient } from '../../src/governance/client.ts';
import { registrySnapshotRoot, SnapshotLogClient } from '../../src/governance/snapshots.ts';
import { SignedRootRecord } from './record.ts';

/**
 * Recomputes the registry snapshot tree at a governance block (src/registries/snapshot's
 * buildRegistrySnapshot over the attestor's own registry reader).
 */
export type SnapshotSource = (blockNumber: bigint) => Promise<{ treeRoot: Hex; takenAt: bigint; blockNumber: bigint }>;

export interface AttestorSignature {
  attestor: string;
  setId: bigint;
  signature: Hex;
  root: Hex;
}

/**
 * One attestor: reads the batch from the governance chain itself (never from the
 * relayer's word), only at a final height, recomputes the root from the ids the
 * chain logged, keeps its durable one-root-per-batch record, and halts on a
 * conflict or a rollback.
 */
export class Attestor {
  private readonly key: SigningKey;
  readonly address: string;
  private halted: string | null = null;
  private readonly sets: AttestorSetClient;
  private readonly log: SnapshotLogClient;

  constructor(
    privateKey: Hex,
    private readonly gov: GovernanceClient,
    private readonly record: SignedRootRecord,
    private readonly opts: {
      finalityDepth: number;
      logger: Logger;
      snapshots?: SnapshotSource;
      /**
       * Re-verifies a batch's ids against their source chains before its root is
       * signed (an attestor process's own check; throws to refuse). The hub's
       * in-process attestor leaves it out: its own verify stage, in the same
       * process, proved every id it commits.
       */
      verifyIds?: (batchNo: bigint, ids: readonly Hex[]) => Promise<void>;
    },
  ) {
    this.key = new SigningKey(privateKey);
    this.address = computeAddress(this.key.publicKey);
    this.sets = new AttestorSetClient(gov);
    this.log = new SnapshotLogClient(gov);
  }

  /** Whether this attestor can recompute registry snapshots (it was given a registry reader). */
  get attestsSnapshots(): boolean {
    return this.opts.snapshots !== undefined;
  }

  private get domain(): AttestationDomain {
    return { chainId: this.gov.chainId, verifyingContract: this.gov.addresses.messageLog };
  }

  private async finalHeight(): Promise<bigint> {
    if (this.halted) throw new AttestorRefusalError('halted', `attestor ${this.address} is halted: ${this.halted}`);
    return BigInt(await this.gov.provider.getBlockNumber()) - BigInt(this.opts.finalityDepth);
  }

  private isMember(members: readonly string[]): boolean {
    return members.some((m) => m.toLowerCase() === this.address.toLowerCase());
  }

  /**
   * Signs the hand-over to a pending attestor set (root type 3), as a member of
   * the set that is current at a final height. The set is read from the
   * governance chain itself, never taken from the caller.
   */
  async attestAttestorSet(newSetId: bigint): Promise<AttestorSignature> {
    const final = await this.finalHeight();
    const pending = await this.sets.pending({ blockTag: final });
    const signed = this.record.get(ROOT_TYPE.attestorSet, newSetId);
    if (!pending || pending.setId !== newSetId) {
      const latest = await this.sets.pending();
      if (latest?.setId === newSetId) throw new NotReadyError(`attestor set ${newSetId} is not final on the governance chain yet`, 500);
      if (signed && (await this.sets.current()).setId < newSetId) {
        this.opts.logger.error({ setId: newSetId.toString(), root: signed.root }, 'rollback: a set hand-over this attestor signed is gone from the governance chain');
      }
      throw new AttestorRefusalError('not_final', `attestor set ${newSetId} is not pending on the governance chain`, { data: { setId: newSetId.toString() } });
    }
    const current = await this.sets.current({ blockTag: final });
    if (!this.isMember(current.members)) throw new AttestorRefusalError('not_final', `${this.address} is not in attestor set ${current.setId}`);
    const root = attestorSetRoot(newSetId, pending.members, pending.threshold);
    if (!this.record.put(ROOT_TYPE.attestorSet, newSetId, root, current.setId)) {
      this.halt('conflicting_root', `asked to sign attestor set ${newSetId} with root ${root}, but it already signed ${signed?.root}`, {
        setId: newSetId.toString(),
        signed: signed?.root,
        asked: root,
      });
    }
    const signature = signAttestation(this.key, this.domain, { rootType: ROOT_TYPE.attestorSet, setId: current.setId, batchNo: newSetId, root });
    return { attestor: this.address, setId: current.setId, signature, root };
  }

  /**
   * Signs a registry snapshot (root type 2) after recomputing its tree from the
   * registries at the snapshot's source block with its own reader: root =
   * keccak256(abi.encode(treeRoot, takenAt)), batchNo = the snapshot number.
   */
  async attestSnapshot(snapshotNo: bigint): Promise<AttestorSignature> {
    const source = this.opts.snapshots;
    if (!source) throw new ConfigError('attestor.snapshots', `attestor ${this.address} has no registry reader to recompute snapshots`);
    const final = await this.finalHeight();
    const logged = await this.log.snapshot(snapshotNo, { blockTag: final });
    const signed = this.record.get(ROOT_TYPE.registrySnapshot, snapshotNo);
    if (!logged) {
      if (signed && !(await this.log.snapshot(snapshotNo))) {
        this.opts.logger.error({ snapshotNo: snapshotNo.toString(), root: signed.root }, 'rollback: a snapshot this attestor signed is gone from the governance chain');
        const refusal = new AttestorRefusalError('rollback', `snapshot ${snapshotNo} that this attestor signed is gone from the governance chain`, { data: { snapshotNo: snapshotNo.toString() } });
        throw new NotReadyError(`refusing snapshot ${snapshotNo} until the governance chain holds the root signed before`, 2000, { cause: refusal });
      }
      throw new NotReadyError(`snapshot ${snapshotNo} is not final on the governance chain yet`, 500);
    }
    const rebuilt = await source(logged.sourceBlock);
    if (rebuilt.blockNumber !== logged.sourceBlock || rebuilt.treeRoot.toLowerCase() !== logged.treeRoot || rebuilt.takenAt !== logged.takenAt) {
      throw new AttestorRefusalError(
        'root_mismatch',
        `snapshot ${snapshotNo}: logged (${logged.treeRoot}, takenAt ${logged.takenAt}) is not the registries at block ${logged.sourceBlock} (${rebuilt.treeRoot}, takenAt ${rebuilt.takenAt})`,
        { data: { snapshotNo: snapshotNo.toString() } },
      );
    }
    const set = await this.gov.attestors();
    if (!this.isMember(set.members)) throw new AttestorRefusalError('not_final', `${this.address} is not in attestor set ${set.setId}`);
    const root = registrySnapshotRoot(logged.treeRoot, logged.takenAt);
    if (!this.record.put(ROOT_TYPE.registrySnapshot, snapshotNo, root, set.setId)) {
      this.halt('conflicting_root', `asked to sign snapshot ${snapshotNo} with root ${root}, but it already signed ${signed?.root}`, {
        snapshotNo: snapshotNo.toString(),
        signed: signed?.root,
        asked: root,
      });
    }
    const signature = signAttestation(this.key, this.domain, { rootType: ROOT_TYPE.registrySnapshot, setId: set.setId, batchNo: snapshotNo, root });
    return { attestor: this.address, setId: set.setId, signature, root };
  }

  get isHalted(): boolean {
    return this.halted !== null;
  }

  private halt(reason: 'conflicting_root', message: string, data: Record<string, unknown>): never {
    this.halted = message;
    this.opts.logger.fatal({ attestor: this.address, ...data }, `attestor halted: ${message}`);
    throw new AttestorRefusalError(reason, message, { data });
  }

  async attestMessages(batchNo: bigint): Promise<AttestorSignature> {
    const final = await this.finalHeight();
    const onChain = await this.gov.batch(batchNo, final);
    const signed = this.record.get(ROOT_TYPE.messages, batchNo);
    if (!onChain) {
      const latest = await this.gov.batch(batchNo);
      if (signed && !latest) {
        // A rollback: refuse everything at this number until the log holds again
        // exactly the root signed here (the relayer re-commits it from the index);
        // a different root there halts the attestor below.
        this.opts.logger.error({ batchNo: batchNo.toString(), root: signed.root }, 'rollback: a batch this attestor signed is gone from the governance chain');
        const refusal = new AttestorRefusalError('rollback', `batch ${batchNo} that this attestor signed is gone from the governance chain`, { data: { batchNo: batchNo.toString() } });
        throw new NotReadyError(`refusing batch ${batchNo} until the governance chain holds the root signed before`, 2000, { cause: refusal });
      }
      throw new NotReadyError(`batch ${batchNo} is not final on the governance chain yet`, 500);
    }
    const logged = await this.gov.batchIds(batchNo, onChain.blockNumber);
    if (!logged) throw new NotReadyError(`batch ${batchNo}'s event is not readable yet`, 500);
    const root = MessageTree.of(logged.ids).root;
    if (root !== onChain.root || logged.root !== onChain.root) {
      throw new AttestorRefusalError('root_mismatch', `batch ${batchNo}: logged root ${onChain.root} is not the root of its ids (${root})`);
    }
    const set = await this.gov.attestors();
    if (!set.members.some((m) => m.toLowerCase() === this.address.toLowerCase())) {
      throw new AttestorRefusalError('not_final', `${this.address} is not in attestor set ${set.setId}`);
    }
    // Signed before (a restart posting it again): verified then; another root there halts below whatever the sources say.
    if (this.opts.verifyIds && !signed) await this.opts.verifyIds(batchNo, logged.ids);
    if (!this.record.put(ROOT_TYPE.messages, batchNo, root, set.setId)) {
      this.halt('conflicting_root', `asked to sign batch ${batchNo} with root ${root}, but it already signed ${signed?.root}`, {
        batchNo: batchNo.toString(),
        signed: signed?.root,
        asked: root,
      });
    }
    const signature = signAttestation(this.key, this.domain, { rootType: ROOT_TYPE.messages, setId: set.setId, batchNo, root });
    return { attestor: this.address, setId: set.setId, signature, root };
  }
}
