import { AbiCoder, Contract, Interface, getAddress, keccak256, toUtf8Bytes, type JsonRpcProvider, type Log, type TransactionReceipt } from 'ethers';
import type {
  AckState,
  AdapterContext,
  AttestorRotation,
  CancelRequest,
  ChainAdapter,
  ChainHeads,
  CommitmentProver,
  DeliveryBatch,
  DeliveryItem,
  DeliveryOutcome,
  LaneState,
  MessageDeliverer,
  MessageWatcher,
  ObservedMessage,
  PortAttestorState,
  PortClock,
  PortRegistryLeaf,
  PortRegistryRoot,
  PortTx,
  Receipt,
  RegistryRootDelivery,
  SourceProof,
} from '../../src/domain/adapter.ts';
import { parseEvmChainId, type ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { ConfigError, ContractRevertError, QiaoError, RpcError, ValidationError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { customErrorDecoder, revertData, TxSender } from '../../src/evm/signer.ts';
import { COMMITMENTS_SLOT, portArtifacts } from './artifacts.ts';
import { FrontierSubstrateRpc, frontierSubstrateEndpoints } from './frontier.ts';
import { mappingSlot } from './slots.ts';
import { eventParser } from '../../src/evm/events.ts';
import { decodeMessageDeliveredData, decodeMessageSentData, encodeDeliverBatch } from '../../src/evm/port-codec.ts';
import { getRpcLogs, type RpcLog } from '../../src/evm/rpc-log.ts';

/** MessageRejected codes of QiaoPort, as the index records them (`refused_by_port:<reason>`). */
export const REJECT_REASONS: Record<number, string> = {
  1: 'not_in_batch',
  2: 'wrong_version',
  3: 'wrong_destination',
  4: 'wrong_port',
  5: 'bad_receiver',
  6: 'already_delivered',
  7: 'timed_out',
  8: 'cancelled',
  9: 'out_of_order',
};

/** The reject reason of a message on an ordered lane that is not the lane's head: it waits, it did not fail. */
export const OUT_OF_ORDER = 'out_of_order';

/** The longest skip reason the port keeps (it cuts longer ones); the UTF-8 bytes count. */
const MAX_SKIP_REASON = 256;

/** A lane's key at a destination port: keccak256(abi.encode(keccak256(srcChain), keccak256(srcPort))), as QiaoPort._peer. */
export function laneKey(srcChain: string, srcPort: Hex): Hex {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'bytes32'], [keccak256(toUtf8Bytes(srcChain)), keccak256(srcPort)])) as Hex;
}

/** The port's receipt and ack codes. */
const OUTCOMES = { 1: 'delivered', 2: 'failed', 3: 'cancelled' } as const;

/** Per-item gas the port spends besides the receiver's own gasLimit (decode, proof, receipt, event). */
const ITEM_OVERHEAD = 90_000n;
/** EIP-7825: the most gas one transaction may ask for (2^24). */
export const MAX_TX_GAS = 16_777_216n;
const BATCH_OVERHEAD = 150_000n;
/** A message with a timeout is answered: the port sends an ack message after the receiver returns. */
const ACK_ITEM_OVERHEAD = 110_000n;

async function rpc<T>(endpoint: string, what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (cause) {
    throw new RpcError(endpoint, `${what} failed`, { cause });
  }
}

/** Receipt reads in flight at once per delivery (the node answers them side by side). */
const RECEIPT_READS = 64;

export async function createEvmAdapter(reg: ChainRegistration, ctx: AdapterContext): Promise<ChainAdapter> {
  const chainId = reg.chainId as ChainId;
  const numericId = parseEvmChainId(chainId, 'chainId');
  if (reg.endpoints.length === 0) throw new ConfigError(`chains.${chainId}.endpoints`, 'needs at least one RPC endpoint');
  // 'instant': BFT chains (QBFT/IBFT 2.0) where a sealed block is final; its light client checks the seals.
  // 'beacon-finalized': proof-of-stake Ethereum; the node's "finalized" tag only says where to look, the sync-committee light client checks it.
  // 'grandpa': Frontier (an EVM pallet on a GRANDPA chain); its Substrate side says what is final, and proves the port's storage.
  if (reg.finality.kind !== 'depth' && reg.finality.kind !== 'instant' && reg.finality.kind !== 'beacon-finalized' && reg.finality.kind !== 'grandpa') {
    throw new ConfigError(`chains.${chainId}.finality`, `EVM finality rule "${reg.finality.kind}" is not supported by this adapter yet; use {kind:"depth"}, {kind:"instant"}, {kind:"beacon-finalized"} or {kind:"grandpa"}`);
  }
  if ((reg.finality.kind === 'grandpa') !== (reg.lightClient === 'grandpa')) {
    throw new ConfigError(`chains.${chainId}.finality`, 'an EVM chain under GRANDPA (Frontier) registers both finality {kind:"grandpa"} and lightClient "grandpa"');
  }
  const frontier = reg.lightClient === 'grandpa' ? new FrontierSubstrateRpc(frontierSubstrateEndpoints(reg)) : null;
  const depth = reg.finality.kind === 'depth' ? BigInt(reg.finality.depth) : 0n;
  const port = getAddress(reg.port);
  const logger = ctx.logger.child({ chain: chainId });
  const providers: JsonRpcProvider[] = reg.endpoints.map((u) => makeProvider(u, numericId, { pollingMs: 250 }));
  const artifacts = await portArtifacts();
  const iface = new Interface(artifacts.QiaoPort.abi as never);
  const parseLog = eventParser(iface);
  const sentTopic = iface.getEvent('MessageSent')!.topicHash;
  const deliverSelector = iface.getFunction('deliverBatch')!.selector;
  const deliveredTopic = iface.getEvent('MessageDelivered')!.topicHash;
  const cancelledTopic = iface.getEvent('MessageCancelled')!.topicHash;
  const acknowledgedTopic = iface.getEvent('Acknowledged')!.topicHash;
  const refundedTopic = iface.getEvent('MessageRefunded')!.topicHash;
  const skippedTopic = iface.getEvent('MessageSkipped')!.topicHash;

  // The registry binds the chain id to its genesis: a wrong endpoint is refused at connect.
  const genesis = await rpc(reg.endpoints[0]!, 'eth_getBlockByNumber(0)', () => providers[0]!.getBlock(0));
  if (!genesis || genesis.hash!.toLowerCase() !== reg.genesisHash.toLowerCase()) {
    throw new ConfigError(`chains.${chainId}.genesisHash`, `endpoint serves genesis ${genesis?.hash ?? 'none'}, registry says ${reg.genesisHash}`);
  }
  const primary = providers[0]!;
  const primaryUrl = reg.endpoints[0]!;

  const watcher: MessageWatcher = {
    async heads(): Promise<ChainHeads> {
      const head = BigInt(await rpc(primaryUrl, 'eth_blockNumber', () => primary.getBlockNumber()));
      if (reg.finality.kind === 'beacon-finalized') {
        // A node before its first finalized checkpoint answers null: nothing is final yet.
        const fin = await rpc(primaryUrl, 'eth_getBlockByNumber(finalized)', () => primary.send('eth_getBlockByNumber', ['finalized', false]) as Promise<{ number?: unknown } | null>);
        if (fin !== null && (typeof fin.number !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(fin.number))) throw new RpcError(primaryUrl, 'eth_getBlockByNumber(finalized) answered a block without a valid number');
        const n = fin === null ? -1n : BigInt(fin.number as string);
        return { head, finalized: n < head ? n : head };
      }
      if (frontier) {
        // pallet-ethereum makes eth block n in Substrate block n: GRANDPA's finalized number is the eth one too.
        const n = await frontier.finalizedHeight();
        return { head, finalized: n < head ? n : head };
      }
      return { head, finalized: head >= depth ? head - depth : -1n };
    },
    async blockHashAt(height: bigint): Promise<Hex | null> {
      const b = await rpc(primaryUrl, 'eth_getBlockByNumber', () => primary.getBlock(height));
      return b?.hash ? (b.hash.toLowerCase() as Hex) : null;
    },
    async rawHeaders(from: bigint, to: bigint, endpoint = 0): Promise<Record<string, unknown>[]> {
      const p = providers[endpoint];
      if (!Number.isInteger(endpoint) || !p) throw new ValidationError('endpoint', `must be an index below ${providers.length}, got ${endpoint}`);
      const url = reg.endpoints[endpoint]!;
      const out: Record<string, unknown>[] = [];
      for (let h = from; h <= to; h++) {
        const b = await rpc(url, 'eth_getBlockByNumber', () => p.send('eth_getBlockByNumber', [`0x${h.toString(16)}`, false]) as Promise<Record<string, unknown> | null>);
        if (!b) throw new RpcError(url, `block ${h} not found`);
        const { transactions: _t, ...bare } = b;
        out.push(bare);
      }
      return out;
    },
    async messagesIn(from: bigint, to: bigint): Promise<ObservedMessage[]> {
      const logs = await rpc(primaryUrl, 'eth_getLogs', () => getRpcLogs(primary, { address: port, topics: [sentTopic], fromBlock: from, toBlock: to }));
      const out: ObservedMessage[] = [];
      for (const log of logs) {
        const m = parseSent(log);
        if (m) out.push(m);
      }
      return out;
    },
  };

  const portLower = port.toLowerCase();
  function parseSent(log: RpcLog): ObservedMessage | null {
    try {
      // The node's filter asked for these; a node that answers others is not trusted with them.
      if (log.address !== portLower || log.topics[0] !== sentTopic) return null;
      if (log.topics.length !== 3) throw new ValidationError('log.topics', 'MessageSent has two indexed fields');
      const encoded = decodeMessageSentData(log.data).message as Hex;
      const id = messageId(encoded);
      // The id is always recomputed from the bytes; a log whose topic disagrees is not ours to trust.
      if (id !== log.topics[1]) throw new ValidationError('log.id', 'topic id differs from keccak256(message)');
      const message = decodeMessage(encoded, 'log.message');
      if (message.srcChain !== chainId || message.srcPort.toLowerCase() !== portLower) throw new ValidationError('log.message', 'source chain or port is not this port');
      return { id, encoded, message, height: log.blockNumber, blockHash: log.blockHash, txHash: log.transactionHash, logIndex: log.logIndex };
    } catch (cause) {
      logger.warn({ err: cause, tx: log.transactionHash }, 'ignoring a MessageSent log that does not decode');
      return null;
    }
  }

  const prover: CommitmentProver = {
    // Frontier: the proofs come from the Substrate endpoints (each tried in turn when one serves a bad proof).
    endpointCount: () => frontier?.endpoints.length ?? providers.length,
    async proveCommitments(height: bigint, ids: readonly Hex[], endpoint = 0): Promise<SourceProof> {
      if (frontier) return frontier.prove(height, port as Hex, ids, endpoint);
      const p = providers[endpoint];
      const url = reg.endpoints[endpoint];
      if (!p || !url) throw new ValidationError('endpoint', `chain ${chainId} has no endpoint #${endpoint}`);
      const tag = `0x${height.toString(16)}`;
      const header = await rpc(url, 'eth_getBlockByNumber', () => p.send('eth_getBlockByNumber', [tag, false]) as Promise<Record<string, unknown> | null>);
      if (!header) throw new RpcError(url, `block ${height} not found`);
      const slots = ids.map((id) => mappingSlot(id, COMMITMENTS_SLOT));
      const proof = await rpc(url, 'eth_getProof', () => p.send('eth_getProof', [port, slots, tag]) as Promise<{ accountProof: Hex[]; storageProof: { key: Hex; value: Hex; proof: Hex[] }[] }>);
      const { transactions: _t, ...bare } = header;
      return {
        kind: 'evm-mpt',
        height: height.toString(),
        blockHash: String(header.hash).toLowerCase(),
        header: bare,
        address: port.toLowerCase(),
        accountProof: proof.accountProof,
        storageProofs: proof.storageProof.map((s) => ({ key: s.key, value: s.value, proof: s.proof })),
      };
    },
  };

  const sender = ctx.relayerKey ? new TxSender(ctx.relayerKey, primary) : null;
  // Receipt reads for a whole delivery chunk leave together as one JSON-RPC batch.
  const reads = makeProvider(primaryUrl, numericId, { pollingMs: 250, batchMax: 64 });
  const portContract = new Contract(port, iface, reads);
  const receiptsSelector = iface.getFunction('receipts')!.selector;

  let gasCap: { value: bigint; at: number } | null = null;
  /**
   * What one delivery transaction may ask for: most of the latest block's gas limit (read at most once a minute),
   * and never more than EIP-7825's per-transaction cap, which Ethereum enforces since Fusaka. Smaller transactions
   * also share blocks: with 90% of a 100M block per delivery, a block that already held a few sends had no room for
   * one, and deliveries got into about every other block (seen on the demo chains at saturation).
   */
  async function blockGasCap(): Promise<bigint> {
    if (gasCap && Date.now() - gasCap.at < 60_000) return gasCap.value;
    const b = await rpc(primaryUrl, 'eth_getBlockByNumber(latest)', () => primary.getBlock('latest'));
    const limit = b?.gasLimit ?? 30_000_000n;
    const part = (limit * 9n) / 10n;
    gasCap = { value: part < MAX_TX_GAS ? part : MAX_TX_GAS, at: Date.now() };
    return gasCap.value;
  }

  async function receiptOf(id: Hex): Promise<Receipt | null> {
    // A raw eth_call (selector ++ id): ethers' Contract machinery cost more CPU than the read, once per delivered message.
    const word = await rpc(primaryUrl, 'receipts', () => reads.send('eth_call', [{ to: port, data: `${receiptsSelector}${id.slice(2)}` }, 'latest']) as Promise<unknown>);
    if (typeof word !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(word)) throw new RpcError(primaryUrl, `receipts(${id}) answered ${String(word).slice(0, 80)}`);
    const status = Number(BigInt(word));
    if (status === 0) return null;
    if (status === 3) {
      // A cancel marker (timeout) or the admin's skip of an ordered lane's head: either way never deliverable.
      const marker = await lastLog([cancelledTopic, skippedTopic], id);
      if (!marker) return null;
      const base = { id, status: 'cancelled' as const, txHash: marker.transactionHash.toLowerCase() as Hex, height: BigInt(marker.blockNumber) };
      if (marker.topics[0] !== skippedTopic) return base;
      return { ...base, skipped: true, reason: decodeReason(parseLog(marker)!.args[1] as string) };
    }
    const logs = await rpc(primaryUrl, 'eth_getLogs', () => primary.getLogs({ address: port, topics: [deliveredTopic, id], fromBlock: 0n, toBlock: 'latest' }));
    // The last delivery attempt decides (a failed message may be retried and delivered).
    const last = logs[logs.length - 1];
    if (!last) return null;
    const parsed = parseLog(last)!;
    const ok = parsed.args[1] as boolean;
    const base = { id, txHash: last.transactionHash.toLowerCase() as Hex, height: BigInt(last.blockNumber) };
    return ok ? { ...base, status: 'delivered' } : { ...base, status: 'failed', reason: decodeReason(parsed.args[2] as string) };
  }

  async function lastLog(topic: string | string[], id: Hex): Promise<Log | undefined> {
    const logs = await rpc(primaryUrl, 'eth_getLogs', () => primary.getLogs({ address: port, topics: [topic, id], fromBlock: 0n, toBlock: 'latest' }));
    return logs[logs.length - 1];
  }

  const decodePortError = customErrorDecoder(iface);

  /** Sends a port call, simulated first so a refusal surfaces as the port's named error. */
  async function portCall(fn: string, args: unknown[], by: TxSender | null = sender): Promise<PortTx> {
    const r = await portSend(fn, args, by);
    return { txHash: r.hash.toLowerCase() as Hex, height: BigInt(r.blockNumber) };
  }

  async function portSend(fn: string, args: unknown[], by: TxSender | null = sender): Promise<TransactionReceipt> {
    if (!by) throw new ConfigError('relayerKey', `no key to send ${fn} to the port on ${chainId}`);
    const data = iface.encodeFunctionData(fn, args);
    const named = (err: unknown) => {
      const d = revertData(err);
      const decoded = d ? decodePortError(d) : null;
      return decoded
        ? new ContractRevertError(decoded.name, `${fn} reverted on ${chainId}: ${decoded.name}(${decoded.args.map(String).join(', ')})`, { cause: err, data: { args: decoded.args.map(String) } })
        : null;
    };
    try {
      await primary.estimateGas({ from: by.address, to: port, data });
    } catch (err) {
      throw named(err) ?? new RpcError(primaryUrl, `${fn} simulation failed`, { cause: err });
    }
    try {
      return await by.send({ to: port, data }, decodePortError);
    } catch (err) {
      throw named(err) ?? err;
    }
  }

  /** An older port lacks newer getters: the call reverts without data. */
  async function hasGetter(fn: string, missing: string): Promise<boolean> {
    try {
      await primary.call({ to: port, data: iface.encodeFunctionData(fn, []) });
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === 'CALL_EXCEPTION' && !revertData(err)) {
        logger.warn({ port }, missing);
        return false;
      }
      throw new RpcError(primaryUrl, 'probing the port failed', { cause: err });
    }
  }
  const followsRoots = () => hasGetter('rotationGraceSeconds', 'this port predates attestor-set hand-overs and registry roots: it keeps its set until its admin changes it');
  const answers = () => hasGetter('ACK_GAS_LIMIT', 'this port predates acknowledgements and timeouts: its timed-out messages get no cancel marker and no refund');
  const orders = () => hasGetter('REJECT_OUT_OF_ORDER', 'this port predates ordered lanes: every lane to it is unordered');

  const read = <T>(fn: string, ...args: unknown[]) => rpc(primaryUrl, fn, () => portContract.getFunction(fn)(...args) as Promise<T>);

  /** Hand-overs and registry roots: only ports deployed since they exist have them. */
  const roots: Required<Pick<MessageDeliverer, 'attestorState' | 'rotateAttestors' | 'registryRoot' | 'acceptRegistryRoot'>> = {
    async attestorState(): Promise<PortAttestorState> {
      const [setId, threshold, members, previousSetId, previousThreshold, validUntil, block] = await Promise.all([
        read<bigint>('setId'),
        read<bigint>('threshold'),
        read<string[]>('attestors'),
        read<bigint>('previousSetId'),
        read<bigint>('previousThreshold'),
        read<bigint>('previousValidUntil'),
        rpc(primaryUrl, 'eth_getBlockByNumber', () => primary.getBlock('latest')),
      ]);
      return {
        setId,
        threshold: Number(threshold),
        members: members.map((m) => getAddress(m)),
        previous: previousSetId === 0n ? null : { setId: previousSetId, threshold: Number(previousThreshold), validUntil },
        now: BigInt(block?.timestamp ?? 0),
      };
    },
    async rotateAttestors(r: AttestorRotation): Promise<PortTx> {
      return portCall('rotateAttestors', [r.newSetId, r.members, r.threshold, r.signatures]);
    },
    async registryRoot(): Promise<PortRegistryRoot> {
      const [snapshotNo, treeRoot, takenAt] = await read<[bigint, string, bigint]>('registryRootInfo');
      return { snapshotNo, treeRoot: treeRoot.toLowerCase() as Hex, takenAt };
    },
    async acceptRegistryRoot(r: RegistryRootDelivery): Promise<PortTx> {
      return portCall('acceptRegistryRoot', [r.setId, r.snapshotNo, r.treeRoot, r.takenAt, r.signatures]);
    },
  };

  /** Lane fees (issue 5): only ports deployed since they exist charge them. */
  const laneFees: Required<Pick<MessageDeliverer, 'laneFee' | 'setLaneFee'>> = {
    async laneFee(lane: Hex) {
      const [fee, snapshotNo] = await read<[bigint, bigint]>('laneFees', lane);
      return { fee, snapshotNo };
    },
    async setLaneFee(leaf: PortRegistryLeaf, proof: Hex[]): Promise<PortTx> {
      return portCall('setLaneFee', [leaf, proof]);
    },
  };
  const chargesFees = () => hasGetter('LEAF_LANE_FEE', 'this port predates lane fees: its lanes stay free');

  /** Acknowledgements and timeouts: only ports deployed since they exist have them. */
  const acksAndTimeouts: Required<Pick<MessageDeliverer, 'clock' | 'cancel' | 'ackOf'>> = {
    async clock(): Promise<PortClock> {
      const b = await rpc(primaryUrl, 'eth_getBlockByNumber', () => primary.getBlock('latest'));
      if (!b) throw new RpcError(primaryUrl, 'no latest block');
      return { height: BigInt(b.number), time: BigInt(b.timestamp) };
    },
    async cancel(r: CancelRequest): Promise<PortTx> {
      await ensureRoot(r);
      return portCall('cancel', [r.root, r.item.encoded, r.item.proof]);
    },
    async ackOf(id: Hex): Promise<AckState> {
      const code = Number(await read<bigint>('acks', id));
      const outcome = OUTCOMES[code as keyof typeof OUTCOMES];
      if (!outcome) return { outcome: 'none' };
      const log = await lastLog(acknowledgedTopic, id);
      if (!log) throw new RpcError(primaryUrl, `the port records ack ${code} for ${id} but no Acknowledged log was found`);
      const base: AckState = { outcome, txHash: log.transactionHash.toLowerCase() as Hex, height: BigInt(log.blockNumber) };
      if (outcome !== 'cancelled') return base;
      const refund = await lastLog(refundedTopic, id);
      if (!refund) return base;
      const p = parseLog(refund)!;
      return { ...base, refund: { sender: getAddress(p.args[1] as string), value: p.args[2] as bigint, paid: p.args[3] as boolean } };
    },
  };

  /**
   * deliverBatch accepts roots on the way; a message that was never delivered (a paused port, say) or whose
   * batch was delivered long ago may sit under a root this port has not seen yet.
   */
  async function ensureRoot(r: CancelRequest): Promise<void> {
    if (!(await read<boolean>('acceptedRoots', r.root))) await portCall('acceptRoot', [r.setId, r.batchNo, r.root, r.signatures]);
  }

  async function lane(srcChain: string, srcPort: Hex): Promise<LaneState> {
    const [ordered, next] = await read<[boolean, bigint]>('lanes', laneKey(srcChain, srcPort));
    return { ordered, next };
  }

  // The skip is the port admin's act (onlyAdmin), so it is signed with that key, never the relayer's.
  const admin = ctx.portAdminKey ? new TxSender(ctx.portAdminKey, primary) : null;

  /** Ordered lanes (issue 5): only ports deployed since they exist have them. */
  const orderedLanes: Required<Pick<MessageDeliverer, 'lane' | 'skip'>> = {
    lane,
    async skip(r: CancelRequest, reason: string): Promise<PortTx> {
      const bytes = toUtf8Bytes(reason);
      if (reason.trim().length === 0 || bytes.length > MAX_SKIP_REASON) throw new ValidationError('reason', `must be 1-${MAX_SKIP_REASON} bytes of text`);
      if (!admin) throw new ConfigError('portAdminKey', `no port admin key to skip a message on ${chainId}`);
      await ensureRoot(r);
      return portCall('skip', [r.root, r.item.encoded, r.item.proof, bytes], admin);
    },
  };
  const hasLanes = await orders();

  // deliver reads each item's fields twice (lane order, then the gas split): decode its bytes once.
  const decodedItems = new WeakMap<DeliveryItem, QiaoMessage>();
  function messageOf(item: DeliveryItem): QiaoMessage {
    let m = decodedItems.get(item);
    if (!m) decodedItems.set(item, (m = decodeMessage(item.encoded)));
    return m;
  }

  /**
   * Items of ordered lanes that cannot pass now (not the head, nor right behind a head sent in the same
   * delivery) are answered `out_of_order` without a transaction: a lane blocked behind a failed head would
   * otherwise pay for a refused delivery on every retry.
   */
  async function outOfOrder(items: readonly DeliveryItem[]): Promise<Set<Hex>> {
    const out = new Set<Hex>();
    if (!hasLanes || items.length === 0) return out;
    const byLane = new Map<string, { srcChain: string; srcPort: Hex; items: { id: Hex; nonce: bigint }[] }>();
    for (const item of items) {
      const m = messageOf(item);
      const k = `${m.srcChain}|${m.srcPort.toLowerCase()}`;
      const g = byLane.get(k) ?? { srcChain: m.srcChain, srcPort: m.srcPort, items: [] };
      g.items.push({ id: item.id, nonce: m.nonce });
      byLane.set(k, g);
    }
    const groups = [...byLane.values()];
    const states = await Promise.all(groups.map((g) => lane(g.srcChain, g.srcPort)));
    for (const [k, g] of groups.entries()) {
      const state = states[k]!;
      if (!state.ordered) continue;
      let expected = state.next;
      for (const i of [...g.items].sort((a, b) => (a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0))) {
        if (i.nonce === expected) expected++;
        else out.add(i.id);
      }
    }
    return out;
  }

  const deliverer: MessageDeliverer = {
    ...((await followsRoots()) ? roots : {}),
    ...((await answers()) ? acksAndTimeouts : {}),
    ...((await chargesFees()) ? laneFees : {}),
    ...(hasLanes ? orderedLanes : {}),
    receiptOf,
    async retry(r: CancelRequest): Promise<DeliveryOutcome> {
      const { id } = r.item;
      const current = await receiptOf(id);
      if (current?.status === 'delivered') return { id, status: 'delivered', txHash: current.txHash, height: current.height };
      if (current?.status === 'cancelled') return { id, status: 'rejected', reason: 'cancelled' };
      await ensureRoot(r);
      const receipt = await portSend('deliver', [r.root, r.item.encoded, r.item.proof]);
      const base = { id, txHash: receipt.hash.toLowerCase() as Hex, height: BigInt(receipt.blockNumber) };
      for (const log of receipt.logs) {
        if (log.address.toLowerCase() !== port.toLowerCase() || log.topics[0] !== deliveredTopic) continue;
        const parsed = parseLog(log)!;
        if ((parsed.args[0] as string).toLowerCase() !== id) continue;
        return parsed.args[1] ? { ...base, status: 'delivered' } : { ...base, status: 'failed', reason: decodeReason(parsed.args[2] as string) };
      }
      throw new QiaoError('delivery_unaccounted', `no MessageDelivered for ${id} in ${receipt.hash}`);
    },
    async deliver(batch: DeliveryBatch): Promise<DeliveryOutcome[]> {
      if (!sender) throw new ConfigError('relayerKey', `no relayer key to deliver on ${chainId}`);
      const out: DeliveryOutcome[] = [];
      let todo: DeliveryItem[] = [];
      // A receipt on chain (delivered or failed) is the outcome: a replayed job never sends again.
      // Retrying a failed message is an explicit operator decision, not a side effect of a job retry.
      // Read side by side: one round trip per message in sequence was most of a large batch's time.
      const receipts = await mapLimit(batch.items, RECEIPT_READS, (item) => receiptOf(item.id));
      for (const [k, item] of batch.items.entries()) {
        const r = receipts[k];
        if (r?.status === 'delivered') out.push({ id: item.id, status: 'delivered', txHash: r.txHash, height: r.height });
        else if (r?.status === 'failed') out.push({ id: item.id, status: 'failed', txHash: r.txHash, height: r.height, reason: r.reason ?? 'receiver reverted' });
        else if (r?.status === 'cancelled') out.push({ id: item.id, status: 'rejected', reason: 'cancelled' });
        else todo.push(item);
      }
      const waiting = await outOfOrder(todo);
      for (const id of waiting) out.push({ id, status: 'rejected', reason: OUT_OF_ORDER });
      todo = todo.filter((i) => !waiting.has(i.id));
      if (todo.length === 0) return out;
      // Split by gas, not by count: one transaction must fit in a block, and a receiver may ask for much more
      // than the usual (settlement locks ask 1.5M each). Sub-batches go out together; the sender orders nonces.
      const cap = await blockGasCap();
      const groups: { items: DeliveryItem[]; gas: bigint }[] = [];
      for (const item of todo) {
        const m = messageOf(item);
        const need = m.gasLimit * 64n / 63n + ITEM_OVERHEAD + (m.timeoutHeight !== 0n || m.timeoutUnixSeconds !== 0n ? ACK_ITEM_OVERHEAD : 0n);
        const last = groups[groups.length - 1];
        if (last && last.gas + need <= cap) {
          last.items.push(item);
          last.gas += need;
        } else groups.push({ items: [item], gas: BATCH_OVERHEAD + need });
      }
      const decode = customErrorDecoder(iface);
      const results = await Promise.allSettled(groups.map((g) => sendGroup(g.items, g.gas)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const r of results) if (r.status === 'fulfilled') out.push(...r.value);
      return out;

      async function sendGroup(items: DeliveryItem[], gas: bigint): Promise<DeliveryOutcome[]> {
        // Coded by hand on bytes (src/evm/port-codec.ts): ethers' ABI coder was ~10% of a worker's CPU here.
        const bytes = (h: string) => Buffer.from(h.slice(2), 'hex');
        const encoded = encodeDeliverBatch(deliverSelector, {
          setId: batch.setId,
          batchNo: batch.batchNo,
          root: batch.root,
          signatures: batch.signatures,
          messages: items.map((i) => bytes(i.encoded)),
          proofs: items.map((i) => i.proof.map(bytes)),
        });
        const data = `0x${Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength).toString('hex')}`;
        let receipt;
        try {
          receipt = await sender!.send({ to: port, data, gasLimit: gas }, decode);
        } catch (err) {
          const d = revertData(err);
          const decoded = d ? decode(d) : null;
          if (decoded) throw new ContractRevertError(decoded.name, `deliverBatch reverted on ${chainId}: ${decoded.name}`, { cause: err, data: { args: decoded.args.map(String) } });
          throw err;
        }
        const got: DeliveryOutcome[] = [];
        const seen = new Set<string>();
        const portLower = port.toLowerCase();
        for (const log of receipt.logs) {
          if (log.address.toLowerCase() !== portLower) continue;
          if (log.topics[0]?.toLowerCase() === deliveredTopic && log.topics.length === 2) {
            // The common case, decoded by hand (src/evm/port-codec.ts); any other port event goes through ethers.
            const id = log.topics[1]!.toLowerCase() as Hex;
            const { success, reason } = decodeMessageDeliveredData(log.data);
            const base = { id, txHash: receipt.hash.toLowerCase() as Hex, height: BigInt(receipt.blockNumber) };
            seen.add(id);
            got.push(success ? { ...base, status: 'delivered' } : { ...base, status: 'failed', reason: decodeReason(reason) });
            continue;
          }
          const parsed = parseLog(log);
          if (!parsed || (parsed.name !== 'MessageDelivered' && parsed.name !== 'MessageRejected')) continue;
          const id = (parsed.args[0] as string).toLowerCase() as Hex;
          const base = { id, txHash: receipt.hash.toLowerCase() as Hex, height: BigInt(receipt.blockNumber) };
          if (parsed.name === 'MessageDelivered') {
            seen.add(id);
            got.push(parsed.args[1] ? { ...base, status: 'delivered' } : { ...base, status: 'failed', reason: decodeReason(parsed.args[2] as string) });
          } else if (parsed.name === 'MessageRejected') {
            seen.add(id);
            const code = Number(parsed.args[1]);
            if (code === 6) {
              const r = await receiptOf(id);
              if (r?.status === 'delivered') {
                got.push({ id, status: 'delivered', txHash: r.txHash, height: r.height });
                continue;
              }
            }
            got.push({ id, status: 'rejected', reason: REJECT_REASONS[code] ?? `rejected_${code}` });
          }
        }
        for (const item of items) if (!seen.has(item.id)) throw new QiaoError('delivery_unaccounted', `no event for ${item.id} in ${receipt.hash}`);
        return got;
      }
    },
  };

  return {
    chainId,
    family: 'evm',
    watcher,
    prover,
    deliverer,
    async close() {
      for (const p of providers) p.destroy();
      reads.destroy();
      await frontier?.close();
    },
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Turns revert data into text: Error(string) → its message, else the hex. */
export function decodeReason(data: string): string {
  if (!data || data === '0x') return 'reverted without a reason';
  if (data.startsWith('0x08c379a0')) {
    try {
      return new Interface(['function Error(string)']).decodeFunctionData('Error', data)[0] as string;
    } catch {
      // fall through
    }
  }
  try {
    const text = Buffer.from(data.slice(2), 'hex').toString('utf8');
    if (/^[\x20-\x7e]+$/.test(text)) return text;
  } catch {
    // fall through
  }
  return data;
}
