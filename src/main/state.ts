import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { SavedContracts } from '../governance/deploy.ts';
import type { GovernanceMemberState } from './settlement-member.ts';
import type { SettlementState } from './settlement-setup.ts';

export interface DemoChainState {
  chainId: string;
  numericId: string;
  port: string;
  receiver: string;
  sender: string;
}

/** What the hub decided at first start and must keep: ids, addresses. Keys live apart (keys.json, 0600). */
export interface HubState {
  version: 1;
  /** Data folders from before the council hold no `council` nor registry addresses: the hub adds them on start. */
  governance?: { chainId: string; contracts: SavedContracts; external: boolean };
  demo?: { chains: DemoChainState[] };
  /** The governance chain as a member chain (settlement): its port. */
  governanceMember?: GovernanceMemberState;
  /** SettlementHub, the demo escrows and tokens, the demo corridors. */
  settlement?: SettlementState;
  /** Written by a running hub so the CLI can find its API. */
  apiUrl?: string;
  /** Written by a running hub: its governance chain's RPC (the embedded anvil's port changes per start). */
  governanceUrl?: string;
}

export async function loadState(file: string): Promise<HubState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { version: 1 };
  }
  try {
    const s = JSON.parse(text) as HubState;
    if (s.version !== 1) throw new ConfigError('state.version', `unsupported hub state version in ${file}`);
    return s;
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError('state', `${file} is not valid JSON`, { cause });
  }
}

export async function saveState(file: string, s: HubState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 2));
  await rename(tmp, file);
}
