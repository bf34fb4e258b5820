import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface, Wallet } from 'ethers';
import pg from 'pg';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

/**
 * `qiao messages verify` re-checks a delivered message from its stored proofs
 * against the registry and the chains, and fails loudly when a stored proof
 * was altered in the database.
 */
describe('qiao messages verify', () => {
  let t: TestHub;
  let id: Hex;

  beforeAll(async () => {
    t = await startTestHub({ index: 'postgres' });
    const [a, b] = t.hub.demo!.chains as [NonNullable<TestHub['hub']['demo']>['chains'][0], NonNullable<TestHub['hub']['demo']>['chains'][0]];
    const artifacts = await portArtifacts();
    const iface = new Interface(artifacts.QiaoPort.abi as never);
    const provider = makeProvider(a.url, BigInt(a.numericId), { pollingMs: 100 });
    const w = Wallet.createRandom();
    await provider.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
    const r = await new TxSender(w.privateKey, provider).send({ to: a.port, data: iface.encodeFunctionData('send', [b.chainId, b.port, b.receiver, 200_000n, 0n, 0n, new TextEncoder().encode('verify me')]) });
    provider.destroy();
    id = messageId(r.logs.map((l) => iface.parseLog(l)).find((p) => p?.name === 'MessageSent')!.args[3] as Hex);
    await until(async () => (await t.hub.index.getMessage(id))?.status === 'delivered', { timeoutMs: 60_000, what: 'delivered' });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('verifies every step of a delivered message', async () => {
    const r = await runCli(['messages', 'verify', id, '--data-dir', t.dataDir, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; steps: { step: string; ok: boolean }[] };
    expect(out.ok).toBe(true);
    expect(out.steps.map((s) => s.step)).toEqual(['message', 'verified', 'committed', 'attested', 'delivered']);
  });

  it('fails loudly when the stored proof was altered in the database', async () => {
    const db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      // One node of the stored storage proof is replaced; the status fields still say "delivered".
      const res = await db.query(
        `UPDATE transitions SET proof = jsonb_set(proof, '{storageProofs,0,proof,0}', to_jsonb('0x' || repeat('ab', 40))) WHERE message_id = $1 AND status = 'verified'`,
        [id],
      );
      expect(res.rowCount).toBe(1);
    } finally {
      await db.end();
    }
    const r = await runCli(['messages', 'verify', id, '--data-dir', t.dataDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED\s+verified\s+storage_proof_invalid/);
    expect(r.stdout).toContain('VERIFICATION FAILED');
  });
});
