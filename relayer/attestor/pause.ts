import { getAddress, Interface, type TransactionReceipt } from 'ethers';
import type { Hex } from '../../src/domain/hex.ts';
import { fetchChainId, makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { decoderOf, sendChecked } from '../../src/governance/checked-send.ts';

// Only the port's pause surface: an attestor's operator needs nothing else of the port.
const PORT_PAUSE = new Interface(['function pause(bool p)', 'function paused() view returns (bool)', 'error NotAdmin()']);

/**
 * Pauses delivery on an EVM port with one attestor's key: any single attestor
 * of the port's set may stop delivery (only the port's admin may resume it).
 * The port reverts with NotAdmin for a key that is not in its set.
 */
export async function pausePort({ privateKey, port, rpcUrl }: { privateKey: Hex; port: string; rpcUrl: string }): Promise<{ receipt: TransactionReceipt; paused: boolean }> {
  const chainId = await fetchChainId(rpcUrl);
  const provider = makeProvider(rpcUrl, chainId);
  try {
    const to = getAddress(port);
    const sender = new TxSender(privateKey, provider);
    const receipt = await sendChecked(provider, sender, to, PORT_PAUSE.encodeFunctionData('pause', [true]), 'pause', decoderOf([PORT_PAUSE]));
    const [paused] = PORT_PAUSE.decodeFunctionResult('paused', await provider.call({ to, data: PORT_PAUSE.encodeFunctionData('paused') }));
    return { receipt, paused: paused as boolean };
  } finally {
    provider.destroy();
  }
}
