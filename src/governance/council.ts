import { Contract, Interface, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { QiaoError, ValidationError } from '../errors.ts';
import type { TxSender } from '../evm/signer.ts';
import { decoderOf, sendChecked, type ErrorDecoder } from './checked-send.ts';
import type { GovernPath, GovernResult } from './govern.ts';
import type { CompiledContract } from './solc.ts';

export const PROPOSAL_STATES = ['none', 'pending', 'queued', 'ready', 'executed', 'canceled'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

export interface CouncilProposal {
  id: bigint;
  target: string;
  proposer: string;
  emergency: boolean;
  state: ProposalState;
  /** Approvals by current members. */
  approvals: number;
  /** Approvals the proposal needs (threshold, or the emergency threshold). */
  needed: number;
  approvedBy: string[];
  createdAt: bigint;
  /** Unix seconds from which it may run; null until the threshold is reached. */
  eta: bigint | null;
  data: Hex;
  description: string;
}

export interface CouncilConfig {
  members: string[];
  threshold: number;
  emergencyThreshold: number;
  delaySeconds: bigint;
  emergencySelectors: Hex[];
}

/** The function selectors the emergency path may call on the embedded default council. */
export const DEFAULT_EMERGENCY_SIGNATURES = ['suspend(string)', 'freeze(string)', 'pause()'] as const;

export function selectorOf(signature: string): Hex {
  return Interface.from([`function ${signature}`]).getFunction(signature)!.selector as Hex;
}

type ProposalTuple = [string, string, boolean, boolean, boolean, bigint, bigint, string, string];

/**
 * Typed access to the Council contract. Writes are signed by a member key; a
 * revert inside the proposal's target is decoded through `targets` (the
 * interfaces of the contracts the council governs).
 */
export class CouncilClient {
  readonly contract: Contract;
  readonly iface: Interface;
  private readonly decode: ErrorDecoder;

  constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    artifact: CompiledContract,
    { targets = [] }: { targets?: Interface[] } = {},
  ) {
    this.iface = new Interface(artifact.abi as never);
    this.contract = new Contract(address, this.iface, provider);
    this.decode = decoderOf([this.iface, ...targets]);
  }

  private call<T>(fn: string, args: unknown[] = [], blockTag?: bigint | string): Promise<T> {
    return this.contract.getFunction(fn)(...args, { blockTag: blockTag ?? 'latest' }) as Promise<T>;
  }

  private send(sender: TxSender, fn: string, args: unknown[]): Promise<TransactionReceipt> {
    return sendChecked(this.provider, sender, this.address, this.iface.encodeFunctionData(fn, args), `council.${fn}`, this.decode);
  }

  async config(blockTag?: bigint): Promise<CouncilConfig> {
    const [members, threshold, emergencyThreshold, delay, selectors] = await Promise.all([
      this.call<string[]>('getMembers', [], blockTag),
      this.call<bigint>('threshold', [], blockTag),
      this.call<bigint>('emergencyThreshold', [], blockTag),
      this.call<bigint>('delay', [], blockTag),
      this.call<string[]>('emergencySelectors', [], blockTag),
    ]);
    return {
      members: [...members],
      threshold: Number(threshold),
      emergencyThreshold: Number(emergencyThreshold),
      delaySeconds: delay,
      emergencySelectors: selectors.map((s) => s.toLowerCase() as Hex),
    };
  }

  async isMember(address: string): Promise<boolean> {
    return this.call<boolean>('isMember', [address]);
  }

  async proposalCount(): Promise<bigint> {
    return this.call<bigint>('proposalCount');
  }

  async proposal(id: bigint): Promise<CouncilProposal | null> {
    const count = await this.proposalCount();
    if (id < 1n || id > count) return null;
    const [p, state, approvals, cfg] = await Promise.all([
      this.call<ProposalTuple>('getProposal', [id]),
      this.call<bigint>('state', [id]),
      this.call<bigint>('approvals', [id]),
      this.config(),
    ]);
    const approvedBy: string[] = [];
    for (const m of cfg.members) if (await this.call<boolean>('hasApproved', [id, m])) approvedBy.push(m);
    return {
      id,
      target: p[0],
      proposer: p[1],
      emergency: p[2],
      state: PROPOSAL_STATES[Number(state)] ?? 'none',
      approvals: Number(approvals),
      needed: p[2] ? cfg.emergencyThreshold : cfg.threshold,
      approvedBy,
      createdAt: p[5],
      eta: p[6] === 0n ? null : p[6],
      data: p[7].toLowerCase() as Hex,
      description: p[8],
    };
  }

  /** The newest proposals first (at most `limit`). */
  async proposals({ limit = 50 }: { limit?: number } = {}): Promise<CouncilProposal[]> {
    const count = await this.proposalCount();
    const out: CouncilProposal[] = [];
    for (let id = count; id >= 1n && out.length < limit; id--) {
      const p = await this.proposal(id);
      if (p) out.push(p);
    }
    return out;
  }

  /** Proposes (the proposer's approval counts); an emergency proposal may run in this same transaction. */
  async propose(sender: TxSender, target: string, data: Hex, description: string, { emergency = false } = {}): Promise<{ id: bigint; executed: boolean; receipt: TransactionReceipt }> {
    const receipt = await this.send(sender, emergency ? 'proposeEmergency' : 'propose', [target, data, description]);
    const id = this.eventArg(receipt, 'Proposed');
    if (id === null) throw new QiaoError('council_no_proposal', `transaction ${receipt.hash} emitted no Proposed event`);
    return { id, executed: this.eventArg(receipt, 'Executed') === id, receipt };
  }

  async approve(sender: TxSender, id: bigint): Promise<{ executed: boolean; receipt: TransactionReceipt }> {
    await this.mustExist(id);
    const receipt = await this.send(sender, 'approve', [id]);
    return { executed: this.eventArg(receipt, 'Executed') === id, receipt };
  }

  async execute(sender: TxSender, id: bigint): Promise<TransactionReceipt> {
    await this.mustExist(id);
    return this.send(sender, 'execute', [id]);
  }

  async cancel(sender: TxSender, id: bigint): Promise<TransactionReceipt> {
    await this.mustExist(id);
    return this.send(sender, 'cancel', [id]);
  }

  private async mustExist(id: bigint): Promise<void> {
    if (id < 1n || id > (await this.proposalCount())) throw new ValidationError('proposalId', `no proposal ${id} on the council at ${this.address}`);
  }

  private eventArg(receipt: TransactionReceipt, name: 'Proposed' | 'Executed'): bigint | null {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) continue;
      const parsed = this.iface.parseLog(log);
      if (parsed?.name === name) return parsed.args[0] as bigint;
    }
    return null;
  }
}

/**
 * Governance through the council: every action is a proposal signed by
 * `sender` (a member). When the proposal is executable at once (one approval
 * suffices and there is no timelock) it is executed in the same call;
 * otherwise the caller gets the proposal id to collect approvals for.
 */
export function councilGovernance(client: CouncilClient, sender: TxSender): GovernPath {
  return {
    governor: client.address,
    async execute(target: string, data: Hex, description: string): Promise<GovernResult> {
      const { id, receipt } = await client.propose(sender, target, data, description);
      const state = (await client.proposal(id))?.state;
      if (state !== 'ready') return { proposalId: id, executed: false, txHash: receipt.hash as Hex };
      try {
        const done = await client.execute(sender, id);
        return { proposalId: id, executed: true, txHash: done.hash as Hex };
      } catch (err) {
        // Never leave behind an executable proposal that failed: it could run later, unexpectedly.
        await client.cancel(sender, id).catch(() => undefined);
        throw err;
      }
    },
    async emergency(target: string, data: Hex, description: string): Promise<GovernResult> {
      const { id, executed, receipt } = await client.propose(sender, target, data, description, { emergency: true });
      return { proposalId: id, executed, txHash: receipt.hash as Hex };
    },
  };
}
