import { Interface, Wallet } from 'ethers';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { createEvmAdapter } from '../../adapters/evm/adapter.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployPort } from '../../adapters/evm/deploy.ts';
import { createSubstrateAdapter } from '../../adapters/substrate/adapter.ts';
import { SUBSTRATE_PORT_PLACEHOLDER, substrateChainId } from '../../adapters/substrate/chain-id.ts';
import { sendRemark } from '../../adapters/substrate/send.ts';
import { GrandpaLightClient } from '../../relayer/light/grandpa-client.ts';
import { decodeGrandpaTrustRoot, encodeGrandpaTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import { verifySourceProof } from '../../relayer/verify-source.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil } from '../../src/governance/anvil.ts';
import { silentLogger } from '../../src/logging.ts';
import { startSubstrateTestServer } from '../servers/substrate/index.ts';
import { adapterConformance } from './adapter.ts';

const DST = 'eip155:31337999' as ChainId;

adapterConformance('evm (anvil, local-dev trust)', async () => {
  const anvil = await startAnvil({ chainId: 777_101, blockTime: 1 });
  const provider = makeProvider(anvil.url, 777_101n, { pollingMs: 100 });
  const user = new TxSender(ANVIL_DEV_KEY, provider);
  const artifacts = await portArtifacts();
  const iface = new Interface(artifacts.QiaoPort.abi as never);
  const chainId = 'eip155:777101' as ChainId;
  const attestor = Wallet.createRandom().address;
  const port = await deployPort(user, artifacts, { chainId, govChainId: 777_100n, messageLog: attestor, attestors: [attestor], threshold: 1, setId: 1n });
  const genesis = (await provider.getBlock(0))!.hash! as Hex;
  const reg: ChainRegistration = {
    chainId,
    family: 'evm',
    genesisHash: genesis,
    port: port.toLowerCase() as Hex,
    lightClient: 'local-dev',
    trustRoot: '0x',
    finality: { kind: 'depth', depth: 2 },
    endpoints: [anvil.url],
    status: 'approved',
  };
  const adapter = await createEvmAdapter(reg, { logger: silentLogger() });
  return {
    adapter,
    async emit(payload) {
      const data = iface.encodeFunctionData('send', [DST, `0x${'11'.repeat(20)}`, `0x${'22'.repeat(20)}`, 100_000n, 0n, 0n, new TextEncoder().encode(payload)]);
      const r = await user.send({ to: port, data });
      const log = r.logs.map((l) => iface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
      return { id: messageId(log.args[3] as Hex) };
    },
    async verify(height, ids, proof) {
      const hash = await adapter.watcher.blockHashAt(height);
      return verifySourceProof(reg, proof, { height, ids, anchor: hash ? { kind: 'block-hash', hash } : null }, { allowLocalDev: true });
    },
    async close() {
      await adapter.close();
      provider.destroy();
      await anvil.stop();
    },
  };
});

adapterConformance('substrate (test server, GRANDPA light client)', async () => {
  await cryptoWaitReady();
  const srv = await startSubstrateTestServer({ blockTimeMs: 200 });
  const set = srv.authoritySet();
  const reg: ChainRegistration = {
    chainId: substrateChainId(srv.genesisHash),
    family: 'substrate',
    genesisHash: srv.genesisHash,
    port: SUBSTRATE_PORT_PLACEHOLDER,
    lightClient: 'grandpa',
    trustRoot: encodeGrandpaTrustRoot({
      height: 0,
      hash: srv.genesisHash,
      setId: set.setId,
      authorities: set.authorities.map((a) => ({ key: a.publicKey, weight: a.weight })),
      runtime: { specVersion: srv.specVersion(), metadataHash: blake2AsHex(srv.metadataHex(), 256) as Hex, systemPallet: 0, remarkedEvent: 5 },
    }),
    finality: { kind: 'grandpa' },
    endpoints: [srv.url],
    status: 'approved',
  };
  const adapter = await createSubstrateAdapter(reg, { logger: silentLogger() });
  const lc = new GrandpaLightClient(decodeGrandpaTrustRoot(reg.trustRoot, reg.chainId), adapter.grandpa);
  const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
  let nonce = 0n;
  return {
    adapter,
    async emit(payload) {
      const s = await sendRemark(adapter.endpoints[0]!.api, alice, {
        version: 1,
        srcChain: reg.chainId,
        srcPort: reg.port,
        dstChain: DST,
        dstPort: `0x${'11'.repeat(20)}`,
        receiver: `0x${'22'.repeat(20)}`,
        nonce: ++nonce,
        gasLimit: 100_000n,
        timeoutHeight: 0n,
        timeoutUnixSeconds: 0n,
        payload: u8aToHex(new TextEncoder().encode(payload)) as Hex,
      });
      return { id: s.id };
    },
    async verify(height, ids, proof) {
      const t = await lc.trustedAt(height);
      if (!t.ok) return { ok: false, reason: t.reason };
      return verifySourceProof(reg, proof, { height, ids, anchor: { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot }, runtime: await lc.runtime() }, { allowLocalDev: false });
    },
    async close() {
      await adapter.close();
      await srv.close();
    },
  };
});
