import { Contract, Interface, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import type { ChainRegistration, ChainStatus, FinalityRule } from '../domain/chain.ts';
import { CHAIN_ACTIONS, CHAIN_FAMILIES, LIGHT_CLIENT_TYPES, type ChainAction } from '../domain/chain.ts';
import { parseChainId } from '../domain/caip.ts';
import { asHex, type Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';
import { decodeBatchCommittedData } from '../evm/port-codec.ts';
import { getRpcLogs } from '../evm/rpc-log.ts';
import type { TxSender } from '../evm/signer.ts';
import type { GovernanceArtifacts } from './artifacts.ts';
import { decoderOf, sendChecked, simulateAs } from './checked-send.ts';
import type { GovernPath, GovernResult } from './govern.ts';

export interface GovernanceAddresses {
  chainRegistry: string;
  attestorSet: string;
  messageLog: string;
  /** Lane fees (src/governance/lane-fees.ts); absent on a governance chain set up before them, until the hub's next start. */
  laneFeeRegistry?: string;
}

/** The contracts this client reads and hands over (lane fees have their own client). */
type CoreContract = 'chainRegistry' | 'attestorSet' | 'messageLog';

export { CHAIN_ACTIONS, type ChainAction } from '../domain/chain.ts';

const STATUS: ChainStatus[] = ['pending', 'pending', 'approved', 'suspended', 'frozen', 'retired'];

export interface OnChainBatch {
  root: Hex;
  count: number;
  blockNumber: bigint;
}

/**
 * Typed access to the governance contracts. Reads go through `provider`;
 * operator writes through the given sender (each role its own key); every
 * governor-only write through a GovernPath (the council, or a plain key).
 */
export class GovernanceClient {
  readonly registry: Contract;
  readonly attestorSet: Contract;
  readonly messageLog: Contract;
  readonly interfaces: { registry: Interface; attestorSet: Interface; messageLog: Interface };

  constructor(
    readonly provider: JsonRpcProvider,
    readonly chainId: bigint,
    readonly addresses: GovernanceAddresses,
    artifacts: GovernanceArtifacts,
  ) {
    this.interfaces = {
      registry: new Interface(artifacts.ChainRegistry.abi as never),
      attestorSet: new Interface(artifacts.AttestorSet.abi as never),
      messageLog: new Interface(artifacts.MessageLog.abi as never),
    };
    this.registry = new Contract(addresses.chainRegistry, this.interfaces.registry, provider);
    this.attestorSet = new Contract(addresses.attestorSet, this.interfaces.attestorSet, provider);
    this.messageLog = new Contract(addresses.messageLog, this.interfaces.messageLog, provider);
  }

  private write(sender: TxSender, contract: Contract, iface: Interface, fn: string, args: unknown[]): Promise<TransactionReceipt> {
    return sendChecked(this.provider, sender, contract.target as string, iface.encodeFunctionData(fn, args), fn, decoderOf([iface]));
  }

  /**
   * A governor-only call, through the governance path. It is first run as the
   * governor (eth_call), so a call that would fail (unknown chain, bad
   * transition, not the governor) is refused with the contract's own error
   * before any proposal is made.
   */
  private async govern(path: GovernPath, contract: Contract, iface: Interface, fn: string, args: unknown[], description: string, { emergency = false } = {}): Promise<GovernResult> {
    const to = contract.target as string;
    const data = iface.encodeFunctionData(fn, args) as Hex;
    await simulateAs(this.provider, path.governor, to, data, fn, decoderOf([iface]));
    return emergency ? path.emergency(to, data, description) : path.execute(to, data, description);
  }

  // ------------------------------------------------------------------ registry

  async submitChain(sender: TxSender, reg: Omit<ChainRegistration, 'status'>): Promise<TransactionReceipt> {
    parseChainId(reg.chainId, 'chainId');
    const family = CHAIN_FAMILIES.indexOf(reg.family);
    if (family < 0) throw new ValidationError('family', `must be one of ${CHAIN_FAMILIES.join(', ')}`);
    const lc = LIGHT_CLIENT_TYPES.indexOf(reg.lightClient);
    if (lc < 0) throw new ValidationError('lightClient', `must be one of ${LIGHT_CLIENT_TYPES.join(', ')}`);
    return this.write(sender, this.registry, this.interfaces.registry, 'submit', [
      reg.chainId,
      asHex(reg.genesisHash, 'genesisHash', 32),
      family,
      asHex(reg.port, 'port'),
      lc,
      asHex(reg.trustRoot, 'trustRoot'),
      JSON.stringify(reg.finality),
      reg.endpoints,
    ]);
  }

  /**
   * Governance moves a chain: approve, suspend, freeze or retire. Suspend and
   * freeze may take the emergency path (smaller threshold, no timelock).
   */
  async setChainStatus(path: GovernPath, chainId: string, action: ChainAction, { emergency = false }: { emergency?: boolean } = {}): Promise<GovernResult> {
    parseChainId(chainId, 'chainId');
    if (!CHAIN_ACTIONS.includes(action)) throw new ValidationError('action', `must be one of ${CHAIN_ACTIONS.join(', ')}`);
    if (emergency && action !== 'suspend' && action !== 'freeze') throw new ValidationError('emergency', `the emergency path only suspends or freezes, not ${action}`);
    return this.govern(path, this.registry, this.interfaces.registry, action, [chainId], `${action} ${chainId}`, { emergency });
  }

  /** A suspended or frozen chain back to approved, from a new light-client trust root. */
  async reanchorChain(path: GovernPath, chainId: string, trustRoot: Hex): Promise<GovernResult> {
    parseChainId(chainId, 'chainId');
    const root = asHex(trustRoot, 'trustRoot');
    return this.govern(path, this.registry, this.interfaces.registry, 'reanchor', [chainId, root], `reanchor ${chainId}`);
  }

  async updateEndpoints(sender: TxSender, chainId: string, endpoints: string[]): Promise<TransactionReceipt> {
    parseChainId(chainId, 'chainId');
    return this.write(sender, this.registry, this.interfaces.registry, 'setEndpoints', [chainId, endpoints]);
  }

  async chains(): Promise<ChainRegistration[]> {
    const all = (await this.registry.getFunction('all')()) as unknown[];
    return all.map((c) => decodeChain(c as ChainTuple));
  }

  // --------------------------------------------------------------- message log

  async nextBatchNo(blockTag?: bigint): Promise<bigint> {
    return (await this.messageLog.getFunction('nextBatchNo')({ blockTag: blockTag ?? 'latest' })) as bigint;
  }

  async batch(batchNo: bigint, blockTag?: bigint): Promise<OnChainBatch | null> {
    const b = (await this.messageLog.getFunction('batch')(batchNo, { blockTag: blockTag ?? 'latest' })) as [string, bigint, bigint];
    if (/^0x0+$/.test(b[0])) return null;
    return { root: b[0].toLowerCase() as Hex, count: Number(b[1]), blockNumber: b[2] };
  }

  /** The ids of a committed batch, read back from its BatchCommitted event. */
  async batchIds(batchNo: bigint, blockNumber: bigint): Promise<{ ids: Hex[]; root: Hex; txHash: Hex } | null> {
    const ev = this.interfaces.messageLog.getEvent('BatchCommitted')!;
    const topics = [ev.topicHash.toLowerCase(), `0x${batchNo.toString(16).padStart(64, '0')}`];
    const logs = await getRpcLogs(this.provider, { address: this.addresses.messageLog, topics, fromBlock: blockNumber, toBlock: blockNumber });
    // What the filter asked for, checked again: a node's answer is chain data like any other.
    const log = logs.find((l) => l.address === this.addresses.messageLog.toLowerCase() && l.topics[0] === topics[0] && l.topics[1] === topics[1]);
    if (!log) return null;
    let decoded: { root: string; ids: string[] };
    try {
      decoded = decodeBatchCommittedData(log.data);
    } catch (cause) {
      throw new ValidationError('BatchCommitted', `batch ${batchNo}'s event data does not decode`, { cause });
    }
    return { ids: decoded.ids as Hex[], root: decoded.root as Hex, txHash: log.transactionHash };
  }

  async commitBatch(sender: TxSender, batchNo: bigint, root: Hex, ids: readonly Hex[]): Promise<TransactionReceipt> {
    return this.write(sender, this.messageLog, this.interfaces.messageLog, 'commitBatch', [batchNo, root, ids]);
  }

  async setCommitter(path: GovernPath, committer: string, allowed: boolean): Promise<GovernResult> {
    return this.govern(path, this.messageLog, this.interfaces.messageLog, 'setCommitter', [committer, allowed], `${allowed ? 'allow' : 'disallow'} committer ${committer}`);
  }

  // ------------------------------------------------------------- attestor set

  async attestors(): Promise<{ setId: bigint; threshold: number; members: string[] }> {
    const [setId, threshold, members] = (await this.attestorSet.getFunction('current')()) as [bigint, bigint, string[]];
    return { setId, threshold: Number(threshold), members: [...members] };
  }

  // --------------------------------------------------------------- governors

  /** The governor of each contract (the council, or a key in data folders from before the council). */
  async governors(): Promise<Record<CoreContract, string>> {
    const read = (c: Contract) => c.getFunction('governor')() as Promise<string>;
    const [chainRegistry, attestorSet, messageLog] = await Promise.all([read(this.registry), read(this.attestorSet), read(this.messageLog)]);
    return { chainRegistry, attestorSet, messageLog };
  }

  /** Hands one contract over to a new governor (e.g. a council). */
  async setGovernor(path: GovernPath, contract: CoreContract, next: string): Promise<GovernResult> {
    const [c, iface] = {
      chainRegistry: [this.registry, this.interfaces.registry],
      attestorSet: [this.attestorSet, this.interfaces.attestorSet],
      messageLog: [this.messageLog, this.interfaces.messageLog],
    }[contract] as [Contract, Interface];
    return this.govern(path, c, iface, 'setGovernor', [next], `hand ${contract} over to ${next}`);
  }
}

type ChainTuple = [string, string, bigint, string, bigint, string, string, string[], string, bigint, bigint];

function decodeChain(c: ChainTuple): ChainRegistration {
  let finality: FinalityRule;
  try {
    finality = JSON.parse(c[6]) as FinalityRule;
  } catch {
    finality = { kind: 'depth', depth: 64 };
  }
  return {
    chainId: parseChainId(c[0]).id,
    genesisHash: c[1].toLowerCase() as Hex,
    family: CHAIN_FAMILIES[Number(c[2])] ?? 'evm',
    port: c[3].toLowerCase() as Hex,
    lightClient: LIGHT_CLIENT_TYPES[Number(c[4])] ?? 'local-dev',
    trustRoot: c[5].toLowerCase() as Hex,
    finality,
    endpoints: [...c[7]],
    status: STATUS[Number(c[9])] ?? 'pending',
  };
}
