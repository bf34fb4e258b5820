import { AbiCoder, keccak256, toUtf8Bytes } from 'ethers';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainFamily, ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError } from '../../src/errors.ts';
import type { LaneFee } from '../../src/governance/lane-fees.ts';
import type { CommittedSnapshot } from '../../src/governance/snapshots.ts';
import type { MessageRow } from '../../src/index/types.ts';
import { snapshotOf } from '../../src/registries/snapshot/builder.ts';
import { LEAF_KIND, laneFeeLeaf, laneFeeOfLeaf, leafFromTuple, leafTuple, statusName, type RegistryLeaf } from '../../src/registries/snapshot/leaves.ts';
import type { ConnectedChain } from '../../relayer/context.ts';
import { LANE_FEE_WAIT, LaneFeeGuard } from '../../relayer/fees.ts';
import { LaneFeePusher, type LaneFeePort } from '../../relayer/roots/lane-fees.ts';

const A = 'eip155:111';
const B = 'eip155:222';
const C = 'eip155:333';
const GWEI = 10n ** 9n;

/** A logger that keeps its records, to check what an operator sees. */
function recordingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
  return { logger, lines };
}

function chain(id: string, family: ChainFamily = 'evm', deliverer: object = {}): ConnectedChain {
  const registration = { chainId: id, family, endpoints: ['http://127.0.0.1:1'] } as unknown as ChainRegistration;
  return { registration, adapter: { deliverer } as unknown as ChainAdapter };
}

let n = 0;
function row(src: string, dst: string, { ack = false } = {}): MessageRow {
  n += 1;
  const port = `0x${'ab'.repeat(20)}`;
  const payload = ack ? AbiCoder.defaultAbiCoder().encode(['uint8', 'bytes32', 'bytes'], [1, keccak256(toUtf8Bytes(`orig ${n}`)), '0x']) : '0x01';
  const message = {
    version: 1, srcChain: src, srcPort: port, sender: ack ? port : `0x${'cd'.repeat(20)}`, dstChain: dst, dstPort: port,
    receiver: ack ? port : `0x${'ef'.repeat(20)}`, nonce: String(n), gasLimit: '100000', timeoutHeight: '0', timeoutUnixSeconds: '0', payload,
  };
  return { id: keccak256(toUtf8Bytes(`message ${n}`)) as Hex, encoded: '0x', message, srcChain: src, dstChain: dst, sender: message.sender, receiver: message.receiver, nonce: String(n), status: 'attested', reason: null, srcTxHash: null, srcHeight: null, dstTxHash: null, batchNo: '1', createdAt: new Date(0), updatedAt: new Date(0) };
}

const fee = (src: string, dst: string, f: bigint, max: bigint): LaneFee => ({ srcChain: src, dstChain: dst, fee: f, maxDstGasPrice: max, updatedAt: 1n }) as LaneFee;

describe('lane fee leaves', () => {
  it('packs fee and maxDstGasPrice into one leaf keyed by the lane, and back', () => {
    const l = laneFeeLeaf({ srcChain: A, dstChain: B, fee: 123n, maxDstGasPrice: 45n * GWEI });
    expect(l.kind).toBe(LEAF_KIND.laneFee);
    expect(l.a).toBe(keccak256(toUtf8Bytes(A)));
    expect(l.b).toBe(keccak256(toUtf8Bytes(B)));
    expect(l.key).toBe(keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'bytes32'], [l.a, l.b])));
    expect(laneFeeOfLeaf(l)).toEqual({ fee: 123n, maxDstGasPrice: 45n * GWEI });
    expect(leafFromTuple(leafTuple(l))).toEqual(l);
    expect(statusName(4, 1)).toBe('set');
    expect(() => laneFeeLeaf({ srcChain: A, dstChain: B, fee: 1n << 128n, maxDstGasPrice: 0n })).toThrow();
  });

  it('a snapshot without lane fees has the root it had before lane fees existed', () => {
    const base = { blockNumber: 1n, takenAt: 5n, identities: [{ didHash: keccak256(toUtf8Bytes('did')) as Hex, controller: `0x${'11'.repeat(20)}`, documentHash: keccak256(toUtf8Bytes('doc')) as Hex, active: true }], accreditations: [], attestations: [] };
    expect(snapshotOf({ ...base, laneFees: [] }).treeRoot).toBe(snapshotOf(base).treeRoot);
    const withFee = snapshotOf({ ...base, laneFees: [{ srcChain: A, dstChain: B, fee: 1n, maxDstGasPrice: 0n }] });
    expect(withFee.treeRoot).not.toBe(snapshotOf(base).treeRoot);
    expect(withFee.proofFor('laneFee', withFee.leaves.find((l) => l.kind === 4)!.key)).toBeTruthy();
    expect(() => snapshotOf({ ...base, laneFees: [{ srcChain: A, dstChain: B, fee: 1n, maxDstGasPrice: 0n }, { srcChain: A, dstChain: B, fee: 2n, maxDstGasPrice: 0n }] })).toThrow(/lane fee/);
  });
});

describe('LaneFeeGuard (relayer)', () => {
  function guard(fees: LaneFee[], price: () => bigint | null) {
    const { logger, lines } = recordingLogger();
    const calls = { fees: 0, price: 0 };
    let t = 0;
    const g = new LaneFeeGuard(
      {
        laneFees: async () => {
          calls.fees += 1;
          return fees;
        },
        gasPrice: async () => {
          calls.price += 1;
          return price();
        },
      },
      logger,
      { cacheMs: 1000, now: () => t },
    );
    return { g, lines, calls, advance: (ms: number) => void (t += ms) };
  }

  it('delivers everything when no lane has a bound, without asking the destination for its price', async () => {
    const { g, calls } = guard([fee(A, B, 10n, 0n)], () => 1n);
    const rows = [row(A, B), row(C, B)];
    expect(await g.deliverable(chain(B), rows)).toEqual(rows);
    expect(calls.price).toBe(0);
  });

  it('holds a lane whose bound the destination price passed (visibly), lets other lanes and acks through, and releases it when the bound is raised', async () => {
    let max = 50n * GWEI;
    const fees = [fee(A, B, 10n, 50n * GWEI)];
    const { g, lines, advance } = guard(fees, () => 80n * GWEI);
    const held = [row(A, B), row(A, B)];
    const ack = row(A, B, { ack: true });
    const other = row(C, B);
    const out = await g.deliverable(chain(B), [...held, ack, other]);
    expect(out.map((r) => r.id)).toEqual([ack.id, other.id]);
    expect(g.holds()).toEqual([{ srcChain: A, dstChain: B, waiting: 2, maxDstGasPrice: 50n * GWEI, gasPrice: 80n * GWEI, since: new Date(0) }]);
    expect(g.waiting(held[0]!.id)).toBe(LANE_FEE_WAIT);
    expect(g.waiting(other.id)).toBeNull();
    // Checked again (the job comes back): still one log line for the lane.
    await g.deliverable(chain(B), held);
    expect(lines.filter((l) => l.reason === LANE_FEE_WAIT)).toHaveLength(1);

    max = 100n * GWEI;
    fees[0] = fee(A, B, 20n, max);
    advance(1001);
    expect((await g.deliverable(chain(B), held)).map((r) => r.id)).toEqual(held.map((r) => r.id));
    expect(g.holds()).toEqual([]);
    expect(g.waiting(held[0]!.id)).toBeNull();
    expect(lines.some((l) => /lane released/.test(l.msg))).toBe(true);
  });

  it('does not check families without a gas price, and forgets messages that left attested another way', async () => {
    const { g } = guard([fee(A, B, 10n, 1n)], () => null);
    const r = row(A, B);
    expect(await g.deliverable(chain(B, 'cosmos'), [r])).toEqual([r]);
    const { g: g2 } = guard([fee(A, B, 10n, 1n)], () => 2n);
    const timedOut = row(A, B);
    await g2.deliverable(chain(B), [timedOut]);
    expect(g2.holds()[0]!.waiting).toBe(1);
    g2.forget([timedOut.id]);
    expect(g2.holds()).toEqual([]);
  });

  it('reads governance once per cache period', async () => {
    const { g, calls, advance } = guard([fee(A, B, 10n, 0n)], () => 1n);
    await g.deliverable(chain(B), [row(A, B)]);
    await g.deliverable(chain(B), [row(A, B)]);
    expect(calls.fees).toBe(1);
    advance(1000);
    await g.deliverable(chain(B), [row(A, B)]);
    expect(calls.fees).toBe(2);
  });
});

describe('LaneFeePusher (relayer)', () => {
  const snap = snapshotOf({
    blockNumber: 9n,
    takenAt: 5n,
    identities: [],
    accreditations: [],
    attestations: [],
    laneFees: [
      { srcChain: A, dstChain: B, fee: 100n, maxDstGasPrice: 0n },
      { srcChain: A, dstChain: C, fee: 7n, maxDstGasPrice: 0n },
      { srcChain: B, dstChain: A, fee: 5n, maxDstGasPrice: 0n },
    ],
  });
  const latest: CommittedSnapshot = { snapshotNo: 3n, treeRoot: snap.treeRoot, takenAt: 5n, sourceBlock: 9n, blockNumber: 10n };

  function fakePort(held: bigint, fees: Record<string, bigint> = {}) {
    const set: RegistryLeaf[] = [];
    const port: LaneFeePort & { held: bigint; fail?: string } = {
      held,
      registryRoot: async () => ({ snapshotNo: port.held }),
      laneFee: async (lane) => ({ fee: fees[lane] ?? 0n, snapshotNo: 0n }),
      setLaneFee: async (leaf) => {
        if (port.fail) throw new ContractRevertError(port.fail, 'refused');
        set.push(leaf);
        fees[leaf.b] = laneFeeOfLeaf(leaf).fee;
        return { txHash: '0x01' as Hex, height: 1n };
      },
    };
    return { port, set };
  }

  it('sets, at each source port holding the snapshot, the fees of its own lanes that differ; once per snapshot', async () => {
    const a = fakePort(2n, { [keccak256(toUtf8Bytes(C))]: 7n });
    const b = fakePort(3n);
    const chains = new Map([[A, chain(A)], [B, chain(B)]]);
    const ports = new Map([[chains.get(A)!, a.port], [chains.get(B)!, b.port]]);
    let builds = 0;
    const pusher = new LaneFeePusher({ chains, logger: pino({ level: 'silent' }) }, async () => (builds++, snap), (c) => ports.get(c) ?? null);
    await pusher.push(latest);
    // A still holds snapshot 2: nothing yet. B takes its one lane.
    expect(a.set).toEqual([]);
    expect(b.set.map((l) => laneFeeOfLeaf(l).fee)).toEqual([5n]);
    a.port.held = 3n;
    await pusher.push(latest);
    // A -> C already charged 7: only A -> B is sent.
    expect(a.set.map((l) => l.b)).toEqual([keccak256(toUtf8Bytes(B))]);
    await pusher.push(latest);
    expect(a.set).toHaveLength(1);
    expect(b.set).toHaveLength(1);
    expect(builds).toBe(1);
  });

  it('leaves a refused leaf for the next snapshot and skips a tree that differs from the committed root', async () => {
    const a = fakePort(3n);
    a.port.fail = 'LeafNotAccepted';
    const chains = new Map([[A, chain(A)]]);
    const { logger, lines } = recordingLogger();
    const pusher = new LaneFeePusher({ chains, logger }, async () => snap, () => a.port);
    await pusher.push(latest);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    delete a.port.fail;
    const other = new LaneFeePusher({ chains, logger }, async () => snap, () => a.port);
    await other.push({ ...latest, treeRoot: `0x${'00'.repeat(32)}` as Hex });
    expect(a.set).toEqual([]);
    expect(lines.some((l) => /differs from the committed snapshot/.test(l.msg))).toBe(true);
  });
});
