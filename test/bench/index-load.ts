import { progress } from './stats.ts';

/*
 * Bulk loading of a synthetic message index, generated inside the database with
 * generate_series so a million messages load in a minute instead of an hour of
 * round trips. This bypasses `recordSent`: its keccak256(encoded) check is the
 * only code path that looks at how an id was made, and the benchmark never calls
 * it on these rows, so ids here are sha256 of a label and `encoded` is filler of
 * a real encoding's length (27 ABI words). Everything the API reads (columns,
 * message JSON, timelines with small proofs) has the shape the live index writes.
 */

/** Runs one SQL statement (no parameters: everything inlined is generated here). */
export type Exec = (sql: string) => Promise<Record<string, unknown>[]>;

export const CHAINS = 20;
export const LANES = 60;
export const SENDERS = 3000;
export const RECEIVERS = 3500;
/** Transitions a fully delivered (or failed) message has: sent, verified, committed, attested, final. */
export const STEPS = 5;

const DAY_MS = 86_400_000;

/** 14 EVM chains, 3 Cosmos, 2 Polkadot, 1 Fabric: all valid CAIP-2 ids without quotes. */
export function chainIds(): string[] {
  const out: string[] = [];
  for (let i = 0; i < CHAINS; i++) {
    if (i < 14) out.push(`eip155:${1001 + i}`);
    else if (i < 17) out.push(`cosmos:qiao-zone-${i}`);
    else if (i < 19) out.push(`polkadot:${(i * 0x1111111).toString(16).padStart(32, '0')}`);
    else out.push('fabric:trade_ch1');
  }
  return out;
}

export interface LoadPlan {
  messages: number;
  /** Messages created from here (spread over `spanDays` up to about now). */
  base: Date;
  spanDays: number;
}

export function loadPlan(messages: number, now = new Date()): LoadPlan {
  const spanDays = 30;
  return { messages, base: new Date(now.getTime() - spanDays * DAY_MS - 3_600_000), spanDays };
}

// A row's derived fields, as SQL over g.n (1-based message number, bigint).
function derived(plan: LoadPlan): string {
  const chains = `ARRAY[${chainIds()
    .map((c) => `'${c}'`)
    .join(',')}]`;
  // The newest 2% are still in flight, spread over the four earlier statuses.
  const inflight = Math.floor(plan.messages * 0.98);
  const stepMs = (plan.spanDays * DAY_MS) / plan.messages;
  return `
    SELECT g.n,
      l.lane,
      (${chains})[l.s + 1] AS src,
      (${chains})[l.d + 1] AS dst,
      '0x' || substr(md5('port' || l.s) || md5('PORT' || l.s), 1, 40) AS src_port,
      '0x' || substr(md5('port' || l.d) || md5('PORT' || l.d), 1, 40) AS dst_port,
      '0x' || substr(md5('snd' || ((g.n * 7919) % ${SENDERS})) || md5('SND' || ((g.n * 7919) % ${SENDERS})), 1, 40) AS sender,
      '0x' || substr(md5('rcv' || ((g.n * 104729) % ${RECEIVERS})) || md5('RCV' || ((g.n * 104729) % ${RECEIVERS})), 1, 40) AS receiver,
      (g.n - 1) / ${LANES} + 1 AS nonce,
      CASE WHEN g.n > ${inflight} THEN (ARRAY['sent','verified','committed','attested'])[g.n % 4 + 1]
           WHEN g.n % 100 = 0 THEN 'failed' ELSE 'delivered' END AS status,
      TIMESTAMPTZ '${plan.base.toISOString()}' + ((g.n - 1) * ${stepMs.toFixed(3)}) * INTERVAL '1 millisecond' AS created_at
    FROM generate_series(__FROM__::bigint, __TO__::bigint) AS g(n)
    CROSS JOIN LATERAL (SELECT (g.n - 1) % ${LANES} AS lane) ll
    CROSS JOIN LATERAL (SELECT ll.lane, ll.lane % ${CHAINS} AS s, (ll.lane % ${CHAINS} + 1 + ll.lane / ${CHAINS}) % ${CHAINS} AS d) l`;
}

function insertMessages(plan: LoadPlan, from: number, to: number): string {
  const src = derived(plan).replace('__FROM__', String(from)).replace('__TO__', String(to));
  const hash = (label: string, expr: string) => `'0x' || encode(sha256(('${label}' || ${expr})::bytea), 'hex')`;
  // messages is a view: each row goes to message_data (what the message is) and message_state (where it is).
  return `
    WITH full_row AS (
    SELECT x.n AS seq, ${hash('qiao-bench-msg-', 'x.n')} AS id,
      '0x' || repeat(md5(x.n::text), 54) AS encoded,
      jsonb_build_object('version', 1, 'srcChain', x.src, 'srcPort', x.src_port, 'sender', x.sender, 'dstChain', x.dst,
        'dstPort', x.dst_port, 'receiver', x.receiver, 'nonce', x.nonce::text, 'gasLimit', '200000', 'timeoutHeight', '0',
        'timeoutUnixSeconds', '0', 'payload', '0x' || md5(x.n::text) || md5((x.n + 1)::text) || md5((x.n + 2)::text) || md5((x.n + 3)::text)) AS message,
      x.src AS src_chain, x.dst AS dst_chain, x.src_port, x.dst_port, x.sender, x.receiver, x.nonce, x.status,
      CASE WHEN x.status = 'failed' THEN 'receiver reverted: 0x08c379a0' END AS reason,
      ${hash('tx-', 'x.n')} AS src_tx_hash, 1000000 + x.n / 3 AS src_height, ${hash('blk-', '(x.n / 3)')} AS src_block_hash, (x.n % 3)::int AS src_log_index,
      CASE WHEN x.status IN ('delivered', 'failed') THEN ${hash('dtx-', 'x.n')} END AS dst_tx_hash,
      CASE WHEN x.status IN ('committed', 'attested', 'delivered', 'failed') THEN x.n / 500 END AS batch_no,
      x.created_at,
      x.created_at + INTERVAL '12 seconds' AS updated_at,
      CASE WHEN x.status = 'delivered' THEN x.created_at + (10 + x.n % 50) * INTERVAL '1 second' END AS delivered_at
    FROM (${src}) x),
    data AS (
      INSERT INTO message_data (seq, id, encoded, message, src_chain, dst_chain, src_port, dst_port, sender, receiver, nonce,
        src_tx_hash, src_height, src_block_hash, src_log_index, created_at)
      SELECT seq, id, encoded, message, src_chain, dst_chain, src_port, dst_port, sender, receiver, nonce,
        src_tx_hash, src_height, src_block_hash, src_log_index, created_at FROM full_row
    )
    INSERT INTO message_state (seq, src_chain, dst_chain, status, reason, dst_tx_hash, batch_no, created_at, updated_at, delivered_at)
    SELECT seq, src_chain, dst_chain, status, reason, dst_tx_hash, batch_no, created_at, updated_at, delivered_at FROM full_row`;
}

function insertTransitions(from: number, to: number): string {
  // The step k of message n gets seq (n-1)*STEPS + k, so seqs follow message order.
  return `
    INSERT INTO transitions (seq, message_id, status, at, chain, height, tx_hash, reason, proof)
    SELECT (m.seq - 1) * ${STEPS} + k.k, m.id,
      CASE k.k WHEN 1 THEN 'sent' WHEN 2 THEN 'verified' WHEN 3 THEN 'committed' WHEN 4 THEN 'attested'
        ELSE m.status END,
      m.created_at + k.k * INTERVAL '2 seconds',
      CASE WHEN k.k <= 2 THEN m.src_chain WHEN k.k = 5 THEN m.dst_chain ELSE 'eip155:4242' END,
      CASE WHEN k.k <= 2 THEN m.src_height ELSE 5000000 + m.seq / 100 + k.k END,
      CASE k.k WHEN 1 THEN m.src_tx_hash WHEN 3 THEN '0x' || md5('gov' || m.batch_no) || md5('GOV' || m.batch_no)
        WHEN 5 THEN m.dst_tx_hash END,
      CASE WHEN k.k = 5 THEN m.reason END,
      CASE k.k
        WHEN 1 THEN jsonb_build_object('blockHash', m.src_block_hash, 'logIndex', m.src_log_index)
        WHEN 2 THEN jsonb_build_object('kind', 'evm-mpt', 'height', m.src_height::text, 'stateRoot', '0x' || md5(m.src_block_hash) || md5(m.id))
        WHEN 3 THEN jsonb_build_object('batchNo', m.batch_no::text, 'root', '0x' || md5('root' || m.batch_no) || md5('ROOT' || m.batch_no))
        WHEN 4 THEN jsonb_build_object('batchNo', m.batch_no::text, 'setId', '1', 'signatures', 3)
        ELSE jsonb_build_object('leafIndex', m.seq % 500) END
    FROM messages m
    CROSS JOIN generate_series(1, ${STEPS}) AS k(k)
    WHERE m.seq BETWEEN ${from} AND ${to}
      AND k.k <= CASE m.status WHEN 'sent' THEN 1 WHEN 'verified' THEN 2 WHEN 'committed' THEN 3 WHEN 'attested' THEN 4 ELSE ${STEPS} END`;
}

export interface LoadResult {
  messages: number;
  transitions: number;
  seconds: number;
}

/**
 * Loads `plan.messages` messages into an index that `openIndex` has already
 * migrated and that holds no messages. Secondary indexes are dropped for the load
 * and rebuilt from their own definitions afterwards (so indexes added by later
 * migrations are rebuilt too), foreign-key triggers are off for the session.
 */
export async function bulkLoad(exec: Exec, plan: LoadPlan, label: string, { chunk = 50_000 } = {}): Promise<LoadResult> {
  const t0 = performance.now();
  const existing = await exec('SELECT count(*)::int AS n FROM messages');
  if (Number(existing[0]?.n) !== 0) throw new Error('bulkLoad expects an empty messages table');
  await exec(`SET session_replication_role = replica`);
  const defs = (await exec(`
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename IN ('message_data', 'message_state', 'transitions')
      AND indexname NOT IN (SELECT conname FROM pg_constraint)`)) as { indexname: string; indexdef: string }[];
  for (const d of defs) await exec(`DROP INDEX "${d.indexname}"`);

  const n = plan.messages;
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1);
    await exec(insertMessages(plan, from, to));
    await exec(insertTransitions(from, to));
    progress(`${label}: messages + transitions`, to, n);
  }
  await exec(`SELECT setval(pg_get_serial_sequence('message_data', 'seq'), ${n})`);
  const tcount = await exec('SELECT count(*)::int AS n, coalesce(max(seq), 0)::bigint AS max FROM transitions');
  await exec(`SELECT setval(pg_get_serial_sequence('transitions', 'seq'), ${String(tcount[0]?.max ?? n * STEPS)})`);
  await exec(`SET session_replication_role = DEFAULT`);

  let i = 0;
  for (const d of defs) {
    await exec(d.indexdef);
    progress(`${label}: rebuilding ${defs.length} indexes`, ++i, defs.length);
  }
  // VACUUM too: the visibility map autovacuum would keep on a live index, without
  // which no index-only scan (the /lanes counts) is possible right after a load.
  await exec('VACUUM ANALYZE message_data');
  await exec('VACUUM ANALYZE message_state');
  await exec('VACUUM ANALYZE transitions');
  await recountLanes(exec);
  return { messages: n, transitions: Number(tcount[0]?.n), seconds: (performance.now() - t0) / 1000 };
}

/** Fresh messages in status `sent` (with their `sent` transition) after the loaded ones, for the stream test. */
export async function loadFresh(exec: Exec, plan: LoadPlan, count: number): Promise<string[]> {
  const from = plan.messages + 1;
  const to = plan.messages + count;
  const livePlan: LoadPlan = { ...plan, messages: plan.messages + count };
  // In-flight statuses are decided by position; force these to `sent` afterwards.
  await exec(insertMessages(livePlan, from, to));
  await exec(`UPDATE message_state SET status = 'sent', reason = NULL, dst_tx_hash = NULL, batch_no = NULL, delivered_at = NULL, created_at = now(), updated_at = now() WHERE seq BETWEEN ${from} AND ${to}`);
  await exec(`UPDATE message_data SET created_at = now() WHERE seq BETWEEN ${from} AND ${to}`);
  // Seqs from the live sequence (set past the loaded ones), as the index's own inserts take them.
  await exec(`
    INSERT INTO transitions (message_id, status, at, chain, height, tx_hash, proof)
    SELECT id, 'sent', now(), src_chain, src_height, src_tx_hash, jsonb_build_object('blockHash', src_block_hash, 'logIndex', src_log_index)
    FROM messages WHERE seq BETWEEN ${from} AND ${to} ORDER BY seq`);
  await exec(`SELECT setval(pg_get_serial_sequence('message_data', 'seq'), ${to})`);
  const rows = await exec(`SELECT id FROM messages WHERE seq BETWEEN ${from} AND ${to} ORDER BY seq`);
  await recountLanes(exec);
  return rows.map((r) => String(r.id));
}

/** The loader bypasses the index's writes, which keep lane_counts: count once, as the migration does. */
async function recountLanes(exec: Exec): Promise<void> {
  await exec('DELETE FROM lane_counts');
  await exec('INSERT INTO lane_counts (src_chain, dst_chain, status, n) SELECT src_chain, dst_chain, status, count(*) FROM messages GROUP BY 1, 2, 3');
}
