import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBullmqBackend } from '../../relayer/queue/bullmq.ts';
import type { QueueBackend } from '../../relayer/queue/types.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import { UnrecoverableError } from '../../src/errors.ts';
import type { KyselyIndex } from '../../src/index/kysely-index.ts';
import { openIndex } from '../../src/index/open.ts';
import type { SentRecord } from '../../src/index/types.ts';
import { cleanEnv, runCli, runCliInProcess } from '../helpers/cli.ts';
import { clearRedisPrefix, createTestDatabase, REDIS_URL, until } from '../helpers/services.ts';

const rnd = (n: number): Hex => `0x${randomBytes(n).toString('hex')}`;
const SRC = 'eip155:7001' as ChainId;
const DST = 'eip155:7002' as ChainId;

function record(nonce: bigint): SentRecord {
  const m: QiaoMessage = { version: 1, srcChain: SRC, srcPort: rnd(20), sender: rnd(20), dstChain: DST, dstPort: rnd(20), receiver: rnd(20), nonce, gasLimit: 100_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: rnd(8) };
  const encoded = encodeMessage(m);
  return { id: messageId(encoded), encoded, message: messageToJson(m), height: 40n, txHash: rnd(32), blockHash: rnd(32), logIndex: Number(nonce) };
}

/**
 * `qiao dlq` against a hub's Redis and PostgreSQL: jobs are forced into the
 * dead-letter store by a processor that fails unrecoverably, then listed,
 * retried and skipped through the real CLI.
 */
describe('qiao dlq list|retry|skip and relayer status', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let index: KyselyIndex;
  let backend: QueueBackend;
  let env: NodeJS.ProcessEnv;
  const govChainId = String(1_000_000 + Math.floor(Math.random() * 1e9));
  const prefix = `qiao-${govChainId}`;
  const sent = [record(1n), record(2n), record(3n)];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-dlq-'));
    // The CLI needs only the hub's governance chain id (the queue prefix) from the data folder.
    await writeFile(join(dir, 'hub.json'), JSON.stringify({ version: 1, governance: { chainId: govChainId, contracts: {}, external: true } }));
    db = await createTestDatabase();
    index = await openIndex({ databaseUrl: db.url });
    await index.recordSent(SRC, sent);
    backend = createBullmqBackend({ connection: REDIS_URL, prefix });
    env = cleanEnv({ REDIS_URL, DATABASE_URL: db.url });
  });

  afterAll(async () => {
    await backend?.close();
    await index?.close();
    await clearRedisPrefix(prefix);
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = async (...args: string[]) => {
    const r = await runCli([...args, '--data-dir', dir], { env });
    return { ...r, json: () => JSON.parse(r.stdout) as unknown };
  };

  it('lists, skips (only where the status rules allow) and retries dead letters', async () => {
    const [a, b, c] = sent.map((s) => s.id) as [Hex, Hex, Hex];
    // b was delivered meanwhile (say by an operator's manual retry): a skip must not touch it.
    expect(await index.transition([b], 'delivered', { reason: 'test' })).toEqual([b]);
    const verify = backend.queue<{ chainId: string; height: string; ids: string[] }>('verify');
    const commit = backend.queue<{ reason: string }>('commit');
    await verify.add('verify', { chainId: SRC, height: '40', ids: [a, b] }, { jobId: `verify:${SRC}:40` });
    await commit.add('commit', { reason: 'test' }, { jobId: 'commit:1' });
    const worker = verify.process(async () => {
      throw new UnrecoverableError('forged proof from every endpoint');
    });
    const worker2 = commit.process(async () => {
      throw new UnrecoverableError('governance chain refused the batch');
    });
    await until(async () => (await verify.counts()).dead === 1 && (await commit.counts()).dead === 1, { timeoutMs: 15_000, what: 'two dead letters' });
    await worker.close();
    await worker2.close();

    // Read-only commands, side by side (each costs a process start).
    const [status, list, human] = await Promise.all([cli('relayer', 'status', '--json'), cli('dlq', 'list', '--json'), cli('dlq', 'list')]);
    expect(status.code, status.stderr).toBe(0);
    const s = status.json() as { queues: Record<string, { dead: number }>; deadLetters: number; leases: unknown[] };
    expect(s.deadLetters).toBe(2);
    expect(s.queues.verify!.dead).toBe(1);
    expect(s.leases).toEqual([]);

    expect(list.code, list.stderr).toBe(0);
    const letters = list.json() as { id: string; queue: string; reason: string; errorCode: string }[];
    expect(letters.map((l) => [l.id, l.queue]).sort()).toEqual([['commit:1', 'commit'], [`verify:${SRC}:40`, 'verify']]);
    expect(letters.find((l) => l.queue === 'verify')!.reason).toContain('forged proof');
    expect(human.stdout).toContain(`verify:${SRC}:40`);

    // ------------------------------------------------------------------ skip
    // A missing required option is Commander's check (in-process; the unknown command of help.test.ts runs that path as a process).
    const missingReason = await runCliInProcess(['dlq', 'skip', `verify:${SRC}:40`, '--data-dir', dir]);
    expect(missingReason.code).not.toBe(0);
    expect(missingReason.stderr).toContain("required option '--reason <text>' not specified");
    const skip = await cli('dlq', 'skip', `verify:${SRC}:40`, '--reason', 'source proof unobtainable', '--json');
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.json()).toMatchObject({ queue: 'verify', failed: [a], unchanged: [b] });
    expect((await index.getMessage(a))!.status).toBe('failed');
    expect((await index.getMessage(b))!.status).toBe('delivered');
    expect((await index.getMessage(c))!.status).toBe('sent');
    const last = (await index.timeline(a)).at(-1)!;
    expect([last.status, last.reason]).toEqual(['failed', 'skipped_by_operator:source proof unobtainable']);
    expect((await verify.counts()).dead).toBe(0);
    const again = await cli('dlq', 'skip', `verify:${SRC}:40`, '--reason', 'twice');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('no dead letter');

    // ----------------------------------------------------------------- retry
    const retry = await cli('dlq', 'retry', 'commit:1', '--json');
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.json()).toMatchObject({ queue: 'commit', retried: true });
    const counts = await commit.counts();
    expect(counts.dead).toBe(0);
    expect(counts.waiting + counts.delayed).toBe(1);
    // Retrying an unknown id changes nothing, so the status runs alongside it.
    const [unknown, after] = await Promise.all([cli('dlq', 'retry', 'nope'), cli('relayer', 'status')]);
    expect(unknown.code).not.toBe(0);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('dead letters: 0');
  });

  it('skips the blocked head of an ordered lane on chain: the letter becomes an ordered-skip job', async () => {
    const id = sent[2]!.id;
    const deliver = backend.queue<{ id: string; dstChain: string; reason?: string }>('deliver');
    expect(await deliver.addDead('ordered-head', { id, dstChain: DST }, { jobId: `ordered-head:${id}`, reason: `ordered lane blocked at nonce 3: receiver reverted` })).toBe(true);
    const skip = await cli('dlq', 'skip', `ordered-head:${id}`, '--reason', 'receiver refuses it', '--json');
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.json()).toMatchObject({ queue: 'deliver', messages: [id], onChain: `ordered-skip:${id}` });
    // Nothing in the index moves yet: the skip job does that once the port has skipped it.
    expect((await index.getMessage(id))!.status).toBe('sent');
    expect(await deliver.counts()).toMatchObject({ dead: 0, waiting: 1 });
    const seen: unknown[] = [];
    const worker = deliver.process(async (job) => {
      seen.push({ name: job.name, data: job.data });
    });
    await until(async () => seen.length === 1, { timeoutMs: 15_000, what: 'the ordered-skip job' });
    await worker.close();
    expect(seen).toEqual([{ name: 'ordered-skip', data: { id, dstChain: DST, reason: 'receiver refuses it' } }]);
  });
});
