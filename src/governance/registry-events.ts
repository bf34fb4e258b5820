import type { Interface, JsonRpcProvider, Log, LogDescription } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import type { RegistryEvent } from '../index/types.ts';

/** One registry contract whose logs the index keeps. */
export interface RegistrySource {
  /** Contract name as the index records it, e.g. `ChainRegistry`. */
  name: string;
  address: string;
  iface: Interface;
}

// ChainRegistry.Status, by its Solidity enum order.
const CHAIN_STATUS = ['none', 'pending', 'approved', 'suspended', 'frozen', 'retired'];

function json(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return v.startsWith('0x') ? v.toLowerCase() : v;
  if (Array.isArray(v)) return v.map(json);
  return v;
}

/** Every named argument, JSON-safe (bigints as decimal strings, hex lowercase). */
function argsOf(parsed: LogDescription): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    out[input.name || `arg${i}`] = json(parsed.args[i]);
  });
  return out;
}

/**
 * What an event is about, and the status it set: a chain's CAIP-2 id for the
 * ChainRegistry, `set:<id>` for the attestor set, a DID where an event names
 * one; otherwise the contract itself.
 */
function subjectOf(source: string, args: Record<string, unknown>): { subject: string; status: string | null } {
  const status = typeof args.status === 'string' && source === 'ChainRegistry' ? (CHAIN_STATUS[Number(args.status)] ?? String(args.status)) : null;
  if (typeof args.chainId === 'string') return { subject: args.chainId, status };
  if (typeof args.did === 'string') return { subject: args.did, status };
  if (typeof args.setId === 'string') return { subject: `set:${args.setId}`, status };
  return { subject: source, status };
}

/**
 * Reads the registries' logs in [from, to] from the governance chain, decoded
 * with each contract's ABI, with their block times. Logs an ABI does not know
 * are skipped (a newer contract version adds events first).
 */
export async function readRegistryEvents(provider: JsonRpcProvider, sources: readonly RegistrySource[], from: bigint, to: bigint): Promise<RegistryEvent[]> {
  if (to < from || sources.length === 0) return [];
  const byAddress = new Map(sources.map((s) => [s.address.toLowerCase(), s]));
  const logs: Log[] = await provider.getLogs({ address: sources.map((s) => s.address), fromBlock: from, toBlock: to });
  const times = new Map<number, Date>();
  const out: RegistryEvent[] = [];
  for (const log of logs) {
    const source = byAddress.get(log.address.toLowerCase());
    if (!source) continue;
    let parsed: LogDescription | null;
    try {
      parsed = source.iface.parseLog(log);
    } catch {
      parsed = null;
    }
    if (!parsed) continue;
    if (!times.has(log.blockNumber)) {
      const block = await provider.getBlock(log.blockNumber);
      if (!block) continue;
      times.set(log.blockNumber, new Date(block.timestamp * 1000));
    }
    const data = argsOf(parsed);
    const { subject, status } = subjectOf(source.name, data);
    out.push({
      contract: source.name,
      kind: parsed.name,
      subject,
      status,
      data,
      blockNumber: BigInt(log.blockNumber),
      blockTime: times.get(log.blockNumber)!,
      txHash: log.transactionHash.toLowerCase() as Hex,
      logIndex: log.index,
    });
  }
  return out;
}
