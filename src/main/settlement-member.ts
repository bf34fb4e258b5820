import type { JsonRpcProvider } from 'ethers';
import type { Logger } from 'pino';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployPort } from '../../adapters/evm/deploy.ts';
import { evmChainId, type ChainId } from '../domain/caip.ts';
import type { ChainRegistration } from '../domain/chain.ts';
import type { Hex } from '../domain/hex.ts';
import type { TxSender } from '../evm/signer.ts';
import type { GovernanceClient } from '../governance/client.ts';
import type { GovernPath } from '../governance/govern.ts';

/** The governance chain as a member chain: its CAIP-2 id and the QiaoPort the hub deployed on it. */
export interface GovernanceMemberState {
  chainId: string;
  port: string;
}

/**
 * Makes the governance chain a member chain: a QiaoPort on it, registered in
 * the ChainRegistry as `eip155:<govChainId>` with `local-dev` trust (accepted
 * because the hub runs that chain itself) and approved through governance.
 * Settlement rides on it: SettlementHub receives and sends ordinary verified
 * Qiao messages through this port. Idempotent across restarts: a saved port
 * still on chain is reused; the registration follows the governance RPC URL.
 */
export async function ensureGovernanceMember({
  saved,
  provider,
  url,
  gov,
  governor,
  govern,
  finalityDepth,
  ports = {},
  logger,
}: {
  saved: GovernanceMemberState | undefined;
  provider: JsonRpcProvider;
  /** The governance RPC the relayer reads and delivers through. */
  url: string;
  gov: GovernanceClient;
  governor: TxSender;
  govern: GovernPath;
  /** The governance chain's own finality depth (config `governance.finalityDepth`). */
  finalityDepth: number;
  ports?: { rotationGraceSeconds?: number; maxRegistryAge?: number };
  logger: Logger;
}): Promise<GovernanceMemberState> {
  const chainId: ChainId = evmChainId(gov.chainId);
  let port = saved && saved.chainId === chainId && (await provider.getCode(saved.port)) !== '0x' ? saved.port : undefined;
  if (!port) {
    const set = await gov.attestors();
    port = await deployPort(governor, await portArtifacts(), {
      chainId,
      govChainId: gov.chainId,
      messageLog: gov.addresses.messageLog,
      attestors: set.members,
      threshold: set.threshold,
      setId: set.setId,
      ...ports,
    });
    logger.info({ chainId, port }, 'QiaoPort deployed on the governance chain');
  }
  const genesis = (await provider.getBlock(0))!.hash as Hex;
  const reg: Omit<ChainRegistration, 'status'> = {
    chainId,
    family: 'evm',
    genesisHash: genesis,
    port: port.toLowerCase() as Hex,
    lightClient: 'local-dev',
    trustRoot: '0x',
    finality: { kind: 'depth', depth: finalityDepth },
    endpoints: [url],
  };
  const existing = (await gov.chains()).find((c) => c.chainId === chainId);
  if (!existing) {
    await gov.submitChain(governor, reg);
    await gov.setChainStatus(govern, chainId, 'approve');
    logger.info({ chainId }, 'governance chain registered as a member chain');
  } else {
    if (existing.port.toLowerCase() !== reg.port) {
      // A port redeployed after the chain lost its state cannot take over a registered id silently.
      logger.error({ chainId, registered: existing.port, deployed: reg.port }, 'the governance chain is registered with another port; settlement messages will not be relayed until governance fixes the registration');
    }
    // The embedded anvil listens on a new free port each start: the registry's endpoint follows it.
    if (existing.endpoints[0] !== url) await gov.updateEndpoints(governor, chainId, [url]);
    // A start killed between submit and approve leaves the chain pending.
    if (existing.status === 'pending') await gov.setChainStatus(govern, chainId, 'approve');
  }
  return { chainId, port };
}
