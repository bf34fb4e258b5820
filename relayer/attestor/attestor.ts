import { SigningKey, computeAddress } from 'ethers';
import type { Logger } from 'pino';
import { ROOT_TYPE, signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { AttestorRefusalError, NotReadyError } from '../../src/errors.ts';
import type { GovernanceClient } from '../../src/governance/client.ts';
import { SignedRootRecord } from './record.ts';

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

  constructor(
    privateKey: Hex,
    private readonly gov: GovernanceClient,
    private readonly record: SignedRootRecord,
    private readonly opts: { finalityDepth: number; logger: Logger },
  ) {
    this.key = new SigningKey(privateKey);
    this.address = computeAddress(this.key.publicKey);
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
    if (this.halted) throw new AttestorRefusalError('halted', `attestor ${this.address} is halted: ${this.halted}`);
    const head = BigInt(await this.gov.provider.getBlockNumber());
    const final = head - BigInt(this.opts.finalityDepth);
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
    if (!this.record.put(ROOT_TYPE.messages, batchNo, root, set.setId)) {
      this.halt('conflicting_root', `asked to sign batch ${batchNo} with root ${root}, but it already signed ${signed?.root}`, {
        batchNo: batchNo.toString(),
        signed: signed?.root,
        asked: root,
      });
    }
    const domain: AttestationDomain = { chainId: this.gov.chainId, verifyingContract: this.gov.addresses.messageLog };
    const signature = signAttestation(this.key, domain, { rootType: ROOT_TYPE.messages, setId: set.setId, batchNo, root });
    return { attestor: this.address, setId: set.setId, signature, root };
  }
}
