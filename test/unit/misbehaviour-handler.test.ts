import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { handleMisbehaviour } from '../../relayer/light/misbehaviour.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError, QiaoError } from '../../src/errors.ts';
import type { MessageIndex, MisbehaviourEvidence, MisbehaviourRow } from '../../src/index/types.ts';

const EVIDENCE: MisbehaviourEvidence = {
  chainId: 'eip155:777',
  height: 6n,
  headerA: { hash: `0x${'aa'.repeat(32)}` },
  headerB: { hash: `0x${'bb'.repeat(32)}` },
  endpoints: ['http://a', 'http://b'],
};
const TX = `0x${'cd'.repeat(32)}` as Hex;

/** Just the index method the handler uses, recording every call. */
function fakeIndex() {
  const calls: { frozenTx?: Hex }[] = [];
  const index = {
    async recordMisbehaviour(_e: MisbehaviourEvidence, opts: { frozenTx?: Hex } = {}): Promise<MisbehaviourRow> {
      calls.push(opts);
      return { id: '1', chainId: EVIDENCE.chainId, height: '6', evidence: {}, detectedAt: new Date(), frozenTx: opts.frozenTx ?? null } as unknown as MisbehaviourRow;
    },
  } as unknown as MessageIndex;
  return { index, calls };
}

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

describe('handleMisbehaviour', () => {
  it('stores the evidence, freezes, and adds the freeze transaction', async () => {
    const { index, calls } = fakeIndex();
    const { logger, lines } = capture();
    await handleMisbehaviour(EVIDENCE, { index, logger, freeze: async () => ({ txHash: TX }) });
    expect(calls).toEqual([{}, { frozenTx: TX }]);
    expect(lines.at(-1)!.level).toBe(60);
    expect(lines.at(-1)!.msg).toMatch(/chain frozen/);
  });

  it('keeps the evidence and says so when another process froze the chain first', async () => {
    const { index, calls } = fakeIndex();
    const { logger, lines } = capture();
    const freeze = async (): Promise<{ txHash: Hex }> => {
      throw new QiaoError('tx_failed', 'proposal failed', { cause: new ContractRevertError('BadTransition', 'freeze reverted: BadTransition(4, 4)') });
    };
    await handleMisbehaviour(EVIDENCE, { index, logger, freeze });
    expect(calls).toEqual([{}]);
    expect(lines.at(-1)!.msg).toMatch(/already frozen/);
  });

  it('asks for a manual freeze when the freeze fails for another reason, or no hook is wired', async () => {
    for (const freeze of [
      async (): Promise<{ txHash: Hex }> => {
        throw new QiaoError('tx_failed', 'governance chain unreachable');
      },
      undefined,
    ]) {
      const { index, calls } = fakeIndex();
      const { logger, lines } = capture();
      await handleMisbehaviour(EVIDENCE, { index, logger, freeze });
      expect(calls).toEqual([{}]);
      expect(lines.at(-1)!.level).toBe(60);
      expect(lines.at(-1)!.msg).toMatch(/by hand/);
    }
  });
});
