import { Contract, Interface, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import type { ChainRegistration, ChainStatus, FinalityRule } from '../domain/chain.ts';
import { CHAIN_FAMILIES, LIGHT_CLIENT_TYPES } from '../domain/chain.ts';
import { parseChainId } from '../domain/caip.ts';
import { asHex, type Hex } from '../domain/hex.ts';
import { ContractRevertError, ValidationError } from '../errors.ts';
import { customErrorDecoder, revertData, type TxSender } from '../evm/signer.ts';
import type { GovernanceArtifacts } from './artifacts.ts';

export interface GovernanceAddresses {
  chainRegistry: string;
  attestorSet: string;
  messageLog: string;
}

const STATUS: ChainStatus[] = ['pending', 'pending', 'approved', 'suspended', 'frozen', 'retired'];

export interface OnChainBatch {
  root: Hex;
  count: number;
  blockNumber: bigint;
}

/**
 * Typed access to the governance contracts. Reads go through `provider`;
 * writes through the given sender (each role its own key).
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

  private async write(sender: TxSender, contract: Contract, iface: Interface, fn: string, args: unknown[]): Promise<TransactionReceipt> {
    const data = iface.encodeFunctionData(fn, args);
    const to = await contract.getAddress();
    // estimateGas surfaces custom-error reverts before anything is sent.
    try {
      await this.provider.estimateGas({ from: sender.address, to, data });
    } catch (cause) {
      const d = revertData(cause);
      const decoded = d ? customErrorDecoder(iface)(d) : null;
      if (decoded) throw new ContractRevertError(decoded.name, `${fn} reverted: ${decoded.name}(${decoded.args.map(String).join(', ')})`, { cause });
      throw cause;
    }
    return sender.send({ to, data }, customErrorDecoder(iface));
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

  async setChainStatus(sender: TxSender, chainId: string, action: 'approve' | 'suspend' | 'freeze' | 'retire'): Promise<TransactionReceipt> {
    parseChainId(chainId, 'chainId');
    return this.write(sender, this.registry, this.interfaces.registry, action, [chainId]);
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
    const logs = await this.provider.getLogs({
      address: this.addresses.messageLog,
      topics: [ev.topicHash, `0x${batchNo.toString(16).padStart(64, '0')}`],
      fromBlock: blockNumber,
      toBlock: blockNumber,
    });
    const log = logs[0];
    if (!log) return null;
    const parsed = this.interfaces.messageLog.parseLog(log)!;
    return { ids: (parsed.args[2] as string[]).map((x) => x.toLowerCase() as Hex), root: (parsed.args[1] as string).toLowerCase() as Hex, txHash: log.transactionHash as Hex };
  }

  async commitBatch(sender: TxSender, batchNo: bigint, root: Hex, ids: readonly Hex[]): Promise<TransactionReceipt> {
    return this.write(sender, this.messageLog, this.interfaces.messageLog, 'commitBatch', [batchNo, root, ids]);
  }

  async setCommitter(sender: TxSender, committer: string, allowed: boolean): Promise<TransactionReceipt> {
    return this.write(sender, this.messageLog, this.interfaces.messageLog, 'setCommitter', [committer, allowed]);
  }

  // ------------------------------------------------------------- attestor set

  async attestors(): Promise<{ setId: bigint; threshold: number; members: string[] }> {
    const [setId, threshold, members] = (await this.attestorSet.getFunction('current')()) as [bigint, bigint, string[]];
    return { setId, threshold: Number(threshold), members: [...members] };
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
