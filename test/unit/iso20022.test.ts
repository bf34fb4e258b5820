import { describe, expect, it } from 'vitest';
import { currencyOf, decimalToUnits, fromPacs008, toPacs002, toPacs008, txStatusOf, unitsToDecimal, type SettlementRecord, type StatusRecord } from '../../src/settlement/iso20022/index.ts';

const UETR = '3f2c1a9e-8b7d-4c6e-9a5b-1d2e3f4a5b6c';
const USD = 'eip155:101/erc20:0x' + 'aa'.repeat(20);
const EUR = 'eip155:102/erc20:0x' + 'bb'.repeat(20);
const SENDER = '0x' + 'a1'.repeat(20);
const RECEIVER = '0x' + 'b2'.repeat(20);
const LP = '0x' + '11'.repeat(20);
const NOW = new Date('2026-11-25T12:00:00Z');

const record: SettlementRecord = {
  uetr: UETR,
  openedAt: 1_795_000_000n,
  sender: SENDER,
  receiver: RECEIVER,
  corridorIds: [1],
  legs: [
    { index: 0, chain: 'eip155:101', asset: USD, amount: 100_000_000n, from: SENDER, to: LP },
    { index: 1, chain: 'eip155:102', asset: EUR, amount: 91_234_567n, from: LP, to: RECEIVER },
  ],
  src: { asset: USD, symbol: 'dUSD', decimals: 6 },
  dst: { asset: EUR, symbol: 'dEUR', decimals: 6 },
};

describe('ISO 20022 amounts and currencies', () => {
  it('maps token symbols to ISO 4217 codes, XXX when none fits', () => {
    expect([currencyOf('dUSD'), currencyOf('EUR'), currencyOf('wGBP'), currencyOf('USDC'), currencyOf('eth'), currencyOf(null)]).toEqual(['USD', 'EUR', 'GBP', 'XXX', 'XXX', 'XXX']);
  });
  it('converts units and decimals exactly both ways', () => {
    expect([unitsToDecimal(100_000_000n, 6), unitsToDecimal(91_234_567n, 6), unitsToDecimal(5n, 6), unitsToDecimal(0n, 2), unitsToDecimal(7n, 0)]).toEqual(['100', '91.234567', '0.000005', '0', '7']);
    expect([decimalToUnits('91.234567', 6), decimalToUnits('100', 6), decimalToUnits('0.5', 6)]).toEqual([91_234_567n, 100_000_000n, 500_000n]);
    expect([decimalToUnits('1.0000001', 6), decimalToUnits('-1', 6), decimalToUnits('1e3', 6), decimalToUnits('1.', 6)]).toEqual([null, null, null, null]);
  });
});

describe('pacs.008', () => {
  it('exports the settlement with the documented mapping', () => {
    const doc = toPacs008(record, { now: NOW });
    const tx = doc.FIToFICstmrCdtTrf.CdtTrfTxInf[0];
    expect(doc.FIToFICstmrCdtTrf.GrpHdr).toEqual({ MsgId: '3f2c1a9e8b7d4c6e9a5b1d2e3f4a5b6c', CreDtTm: '2026-11-25T12:00:00.000Z', NbOfTxs: '1', SttlmInf: { SttlmMtd: 'CLRG' } });
    expect(tx.PmtId).toEqual({ InstrId: '3f2c1a9e8b7d4c6e9a5b1d2e3f4a5b6c', EndToEndId: '3f2c1a9e8b7d4c6e9a5b1d2e3f4a5b6c', UETR: UETR });
    expect(tx.InstdAmt).toEqual({ Ccy: 'USD', Amt: '100' });
    expect(tx.IntrBkSttlmAmt).toEqual({ Ccy: 'EUR', Amt: '91.234567' });
    expect(tx.XchgRate).toBe('0.91234567');
    expect(tx.IntrBkSttlmDt).toBe(new Date(1_795_000_000_000).toISOString().slice(0, 10));
    expect(tx.ChrgBr).toBe('DEBT');
    expect(tx.DbtrAcct.Id.Othr.Id).toBe(`eip155:101:${SENDER}`);
    expect(tx.CdtrAcct.Id.Othr.Id).toBe(`eip155:102:${RECEIVER}`);
    expect(tx.DbtrAgt.FinInstnId.Othr.Id).toBe('eip155:101');
    expect(tx.CdtrAgt.FinInstnId.Othr.Id).toBe('eip155:102');
    expect(tx.IntrmyAgt1?.FinInstnId.Othr.Id).toBe(`eip155:101:${LP}`);
    expect(tx.IntrmyAgt2).toBeUndefined();
    expect(tx.SplmtryData?.[0]?.Envlp.Qiao).toMatchObject({ srcAsset: USD, dstAsset: EUR, srcDecimals: 6, amountUnits: '100000000', amountOutUnits: '91234567', corridorIds: [1] });
    // Plain JSON: no bigint survives into the document.
    expect(() => JSON.stringify(doc)).not.toThrow();
  });

  it('imports its own export back into the same request (round trip)', () => {
    const r = fromPacs008(JSON.parse(JSON.stringify(toPacs008(record, { now: NOW }))));
    expect(r).toEqual({ ok: true, value: { uetr: UETR, endToEndId: '3f2c1a9e8b7d4c6e9a5b1d2e3f4a5b6c', srcAsset: USD, srcAccount: SENDER, dstAsset: EUR, dstAccount: RECEIVER, amount: 100_000_000n } });
  });

  it('imports a bank document without supplementary data when assets and decimals are given', () => {
    const doc = JSON.parse(JSON.stringify(toPacs008(record, { now: NOW })));
    delete doc.FIToFICstmrCdtTrf.CdtTrfTxInf[0].SplmtryData;
    doc.FIToFICstmrCdtTrf.CdtTrfTxInf[0].InstdAmt.Amt = '12.5';
    expect(fromPacs008(doc)).toMatchObject({ ok: false, field: expect.stringContaining('srcAsset') });
    const r = fromPacs008(doc, { srcAsset: USD, dstAsset: EUR, srcDecimals: 6 });
    expect(r.ok && r.value.amount).toBe(12_500_000n);
  });

  it('refuses bad documents naming the field', () => {
    const good = () => JSON.parse(JSON.stringify(toPacs008(record, { now: NOW })));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case corrupts the document on purpose
    const cases: [(d: any) => void, string][] = [
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].PmtId.UETR = 'not-a-uuid'), 'PmtId.UETR'],
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].DbtrAcct.Id.Othr.Id = 'cosmos:hub:abc'), 'DbtrAcct.Id.Othr.Id'],
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].CdtrAcct.Id.Othr.Id = `eip155:999:${RECEIVER}`), 'CdtrAcct.Id.Othr.Id'],
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].InstdAmt.Amt = '100.0000001'), 'InstdAmt.Amt'],
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].InstdAmt.Amt = '99'), 'InstdAmt.Amt'],
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].InstdAmt.Ccy = 'usd'), 'InstdAmt.Ccy'],
      [(d) => d.FIToFICstmrCdtTrf.CdtTrfTxInf.push(d.FIToFICstmrCdtTrf.CdtTrfTxInf[0]), 'CdtTrfTxInf'],
      [(d) => (d.FIToFICstmrCdtTrf.GrpHdr.NbOfTxs = '2'), 'GrpHdr.NbOfTxs'],
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].DbtrAgt.FinInstnId.Othr.Id = 'eip155:7'), 'DbtrAgt'],
      [(d) => (d.FIToFICstmrCdtTrf.CdtTrfTxInf[0].SplmtryData[0].Envlp.Qiao.dstAsset = USD), 'dstAsset'],
    ];
    for (const [mutate, field] of cases) {
      const d = good();
      mutate(d);
      const r = fromPacs008(d);
      expect(r.ok, field).toBe(false);
      if (!r.ok) expect(r.field, field).toContain(field);
    }
    expect(fromPacs008(null)).toMatchObject({ ok: false, field: 'document' });
    expect(fromPacs008('x')).toMatchObject({ ok: false });
  });
});

describe('pacs.002', () => {
  const status = (state: StatusRecord['state'], legStates: [string, string | null][]): StatusRecord => ({
    uetr: UETR,
    state,
    decidedAt: state === 'open' ? 0n : 1_795_000_100n,
    legs: legStates.map(([s, e], i) => ({ index: i, chain: `eip155:${101 + i}`, asset: i ? EUR : USD, amount: 10n, from: SENDER, to: RECEIVER, state: s, escrow: e === null ? null : { state: e } })),
  });

  it('ACSC only when committed and every leg released', () => {
    expect(txStatusOf(status('committed', [['release_sent', 'released'], ['release_sent', 'released']])).status).toBe('ACSC');
    expect(txStatusOf(status('committed', [['release_sent', 'released'], ['release_sent', 'locked']])).status).toBe('PDNG');
    expect(txStatusOf(status('committed', [['release_sent', 'released'], ['release_sent', null]])).status).toBe('PDNG');
    expect(txStatusOf(status('open', [['locked', 'locked'], ['pending', 'none']])).status).toBe('PDNG');
  });

  it('RJCT with AM04 for a failed lock and AB03 for a deadline', () => {
    expect(txStatusOf(status('aborted', [['refund_sent', 'refunded'], ['lock_failed', 'none']]))).toEqual({ status: 'RJCT', reason: { code: 'AM04', info: ['lock failed on leg 1', 'refunded: leg 0'] } });
    expect(txStatusOf(status('aborted', [['pending', 'none'], ['pending', 'none']])).reason?.code).toBe('AB03');
  });

  it('writes the report with the original ids and the legs', () => {
    const doc = toPacs002(status('committed', [['release_sent', 'released'], ['release_sent', 'released']]), { now: NOW });
    const tx = doc.FIToFIPmtStsRpt.TxInfAndSts[0];
    expect(doc.FIToFIPmtStsRpt.OrgnlGrpInfAndSts).toEqual({ OrgnlMsgId: '3f2c1a9e8b7d4c6e9a5b1d2e3f4a5b6c', OrgnlMsgNmId: 'pacs.008.001.08' });
    expect([tx.OrgnlUETR, tx.OrgnlEndToEndId, tx.TxSts, tx.AccptncDtTm]).toEqual([UETR, '3f2c1a9e8b7d4c6e9a5b1d2e3f4a5b6c', 'ACSC', new Date(1_795_000_100_000).toISOString()]);
    expect(tx.StsRsnInf).toBeUndefined();
    expect(tx.SplmtryData?.[0]?.Envlp.Qiao.legs?.map((l) => l.escrow)).toEqual(['released', 'released']);
    expect(doc.FIToFIPmtStsRpt.GrpHdr.MsgId.length).toBeLessThanOrEqual(35);
    const rj = toPacs002(status('aborted', [['refund_sent', 'refunded'], ['pending', 'none']]), { now: NOW }).FIToFIPmtStsRpt.TxInfAndSts[0];
    expect([rj.TxSts, rj.StsRsnInf?.[0]?.Rsn.Cd]).toEqual(['RJCT', 'AB03']);
  });
});
