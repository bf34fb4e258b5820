/**
 * CPU of this process per 58 KB transaction sent and mined on anvil: ethers'
 * NonceManager on ethers' transport (the hub before issue 5) against TxSender on
 * makeProvider. Run: npx tsx test/bench/tx-send-cpu.ts
 */
import { FetchRequest, JsonRpcProvider, Network, NonceManager, Wallet, hexlify } from 'ethers';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil } from '../../src/governance/anvil.ts';

const N = 30;
const anvil = await startAnvil({ chainId: 4343n, args: ['--gas-limit', '300000000'] });
const data = hexlify(new Uint8Array(58_000).map((_, i) => (i * 13) & 0xff));
const to = '0x' + '42'.repeat(20);

async function measure(label: string, send: () => Promise<unknown>): Promise<void> {
  await send();
  const t = process.cpuUsage();
  await Promise.all(Array.from({ length: N }, send));
  const d = process.cpuUsage(t);
  console.log(`${label.padEnd(48)} ${((d.user + d.system) / 1000 / N).toFixed(2)} ms CPU per transaction`);
}

try {
  const req = new FetchRequest(anvil.url);
  const old = new JsonRpcProvider(req, Network.from(4343n), { staticNetwork: true, batchMaxCount: 1, pollingInterval: 200, cacheTimeout: -1 });
  const nm = new NonceManager(new Wallet(ANVIL_DEV_KEY, old));
  await measure('before: NonceManager + ethers transport', async () => (await nm.sendTransaction({ to, data }))!.wait());
  old.destroy();
  const p = makeProvider(anvil.url, 4343n);
  const sender = new TxSender(ANVIL_DEV_KEY, p);
  await measure('after: TxSender + makeProvider', () => sender.send({ to, data }));
  p.destroy();
} finally {
  await anvil.stop();
}
