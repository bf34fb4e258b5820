import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, MisbehaviourEvidence } from '../../src/index/types.ts';
import { ValidationError } from '../../src/errors.ts';
import type { Hex } from '../../src/domain/hex.ts';

describe('misbehaviour evidence in the index', () => {
  let index: MessageIndex;
  const e: MisbehaviourEvidence = {
    chainId: 'eip155:4242',
    height: 7n,
    headerA: { number: '0x7', hash: `0x${'aa'.repeat(32)}`, extraData: '0x01' },
    headerB: { number: '0x7', hash: `0x${'bb'.repeat(32)}`, extraData: '0x02' },
    endpoints: ['http://a', 'http://b'],
  };
  beforeAll(async () => {
    index = await openIndex({});
  });
  afterAll(async () => index?.close());

  it('keeps the first evidence of a height and adds the freeze transaction later', async () => {
    const first = await index.recordMisbehaviour(e);
    expect(first).toMatchObject({ chainId: 'eip155:4242', height: '7', frozenTx: null });
    expect(first.evidence).toEqual({ ...e, height: '7' });
    const tx = `0x${'cc'.repeat(32)}` as Hex;
    const again = await index.recordMisbehaviour({ ...e, headerB: { number: '0x7', hash: `0x${'dd'.repeat(32)}` } }, { frozenTx: tx });
    expect(again.id).toBe(first.id);
    expect(again.frozenTx).toBe(tx);
    expect(again.evidence.headerB).toEqual(e.headerB);
    await index.recordMisbehaviour({ ...e, chainId: 'eip155:5', height: 1n });
    expect((await index.misbehaviour('eip155:4242')).map((r) => r.id)).toEqual([first.id]);
    expect(await index.misbehaviour()).toHaveLength(2);
  });

  it('names the bad field', async () => {
    await expect(index.recordMisbehaviour({ ...e, chainId: 'nope' })).rejects.toBeInstanceOf(ValidationError);
    await expect(index.recordMisbehaviour({ ...e, headerA: null as never })).rejects.toMatchObject({ field: 'evidence.headerA' });
    await expect(index.recordMisbehaviour(e, { frozenTx: '0x12' as Hex })).rejects.toMatchObject({ field: 'frozenTx' });
  });
});
