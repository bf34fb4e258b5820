import { AbiCoder, getAddress, keccak256, type TransactionReceipt } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';
import type { TxSender } from '../evm/signer.ts';
import { decoderOf, sendChecked, simulateAs } from './checked-send.ts';
import type { GovernanceClient } from './client.ts';
import type { GovernPath, GovernResult } from './govern.ts';

/** An attestor set as the governance chain holds it. */
export interface AttestorSetInfo {
  setId: bigint;
  threshold: number;
  members: string[];
}

/** An activated set with the hand-over that made it current (what every port needs to follow it). */
export interface AttestorHandOver extends AttestorSetInfo {
  /** The set that signed the hand-over; 0 for the first set. */
  previousSetId: bigint;
  activatedBlock: bigint;
  /** Signatures of the previous set over the root type 3 root, as `activate` accepted them. */
  signatures: Hex[];
}

/** The root type 3 root: what the current set signs (batchNo = newSetId) to hand over. */
export function attestorSetRoot(setId: bigint, members: readonly string[], threshold: number): Hex {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['uint64', 'address[]', 'uint8'], [setId, members.map((m) => getAddress(m)), threshold])) as Hex;
}

export function validateSet(members: readonly string[], threshold: number, field = 'attestors'): string[] {
  const out: string[] = [];
  for (const [i, m] of members.entries()) {
    let a: string;
    try {
      a = getAddress(m);
    } catch (cause) {
      throw new ValidationError(`${field}.members[${i}]`, 'must be an EVM address', { cause });
    }
    if (out.includes(a)) throw new ValidationError(`${field}.members[${i}]`, `duplicate member ${a}`);
    out.push(a);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > out.length || threshold > 255) {
    throw new ValidationError(`${field}.threshold`, `must be an integer between 1 and the number of members (${out.length})`);
  }
  return out;
}

type Tag = { blockTag?: bigint | 'latest' };

/**
 * The attestor-set hand-over on the governance chain: governance proposes a set,
 * the current set's signatures activate it, and its history lets a relayer walk
 * any port forward one signed hand-over at a time.
 */
export class AttestorSetClient {
  constructor(private readonly gov: GovernanceClient) {}

  private get iface() {
    return this.gov.interfaces.attestorSet;
  }

  private fn(name: string) {
    return this.gov.attestorSet.getFunction(name);
  }

  async current({ blockTag = 'latest' }: Tag = {}): Promise<AttestorSetInfo> {
    const [setId, threshold, members] = (await this.fn('current')({ blockTag })) as [bigint, bigint, string[]];
    return { setId, threshold: Number(threshold), members: members.map((m) => getAddress(m)) };
  }

  /** The set waiting for the current set's signatures, or null. */
  async pending({ blockTag = 'latest' }: Tag = {}): Promise<AttestorSetInfo | null> {
    const [setId, threshold, members] = (await this.fn('pending')({ blockTag })) as [bigint, bigint, string[]];
    if (setId === 0n) return null;
    return { setId, threshold: Number(threshold), members: members.map((m) => getAddress(m)) };
  }

  async messageLog(): Promise<string> {
    return getAddress((await this.fn('messageLog')()) as string);
  }

  /** An activated set, with the signatures of its hand-over read from its SetActivated event. */
  async handOver(setId: bigint): Promise<AttestorHandOver | null> {
    const r = (await this.fn('setAt')(setId)) as { threshold: bigint; previousSetId: bigint; activatedBlock: bigint; members: string[] };
    if (r.members.length === 0) return null;
    const base = { setId, threshold: Number(r.threshold), members: r.members.map((m) => getAddress(m)), previousSetId: r.previousSetId, activatedBlock: r.activatedBlock };
    if (r.previousSetId === 0n) return { ...base, signatures: [] };
    const ev = this.iface.getEvent('SetActivated')!;
    const logs = await this.gov.provider.getLogs({
      address: this.gov.addresses.attestorSet,
      topics: [ev.topicHash, `0x${setId.toString(16).padStart(64, '0')}`],
      fromBlock: r.activatedBlock,
      toBlock: r.activatedBlock,
    });
    const log = logs[0];
    if (!log) return null;
    const parsed = this.iface.parseLog(log)!;
    return { ...base, signatures: (parsed.args[2] as string[]).map((s) => s.toLowerCase() as Hex) };
  }

  /**
   * The hand-overs a holder of set `fromSetId` needs, oldest first, walking back
   * from the current set. Null when `fromSetId` is not an ancestor of the
   * current set (a port bootstrapped to a set governance never activated).
   */
  async handOversSince(fromSetId: bigint): Promise<AttestorHandOver[] | null> {
    const out: AttestorHandOver[] = [];
    let id = (await this.current()).setId;
    while (id > fromSetId) {
      const h = await this.handOver(id);
      if (!h || h.previousSetId === 0n) return null;
      out.push(h);
      id = h.previousSetId;
    }
    return id === fromSetId ? out.reverse() : null;
  }

  /** Governance names the next set (through the council or a plain governor key). */
  async proposeSet(path: GovernPath, members: readonly string[], threshold: number): Promise<GovernResult> {
    const m = validateSet(members, threshold);
    const to = this.gov.addresses.attestorSet;
    const data = this.iface.encodeFunctionData('proposeSet', [m, threshold]) as Hex;
    await simulateAs(this.gov.provider, path.governor, to, data, 'proposeSet', decoderOf([this.iface]));
    return path.execute(to, data, `attestor set: propose ${threshold}-of-${m.length} [${m.join(', ')}]`);
  }

  /** Anyone may carry the current set's signatures over the pending set's root. */
  async activate(sender: TxSender, signatures: readonly Hex[]): Promise<TransactionReceipt> {
    const data = this.iface.encodeFunctionData('activate', [signatures]);
    return sendChecked(this.gov.provider, sender, this.gov.addresses.attestorSet, data, 'activate', decoderOf([this.iface]));
  }
}
