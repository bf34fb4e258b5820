/**
 * pacs.008 (FI to FI customer credit transfer) export and import of a settlement.
 *
 * Field mapping (hub -> ISO 20022):
 *   GrpHdr.MsgId, PmtId.InstrId, PmtId.EndToEndId  the UETR without dashes (32 chars, fits Max35Text)
 *   PmtId.UETR                                     the UETR (UUIDv4, the same id every leg carries on chain)
 *   GrpHdr.CreDtTm                                 export time; IntrBkSttlmDt: the day the payment opened (UTC)
 *   InstdAmt                                       leg 0: what the sender locks, fees included, source currency
 *   IntrBkSttlmAmt                                 the last leg: what the receiver gets, destination currency
 *   XchgRate                                       all-in rate: received / instructed (fees and spread included)
 *   ChrgBr = DEBT                                  every fee is taken from the sender's amount before FX
 *   DbtrAcct.Id.Othr.Id / CdtrAcct.Id.Othr.Id      sender / receiver as CAIP-10 (SchmeNm.Prtry "CAIP-10")
 *   DbtrAgt / CdtrAgt                              first / last leg's chain as CAIP-2 (the "agent" is the ledger)
 *   IntrmyAgt1..3                                  each hop's liquidity provider, CAIP-10 on the chain it is paid on
 *   Ccy                                            from the token symbol (see currency.ts), else "XXX"
 *   SplmtryData[PlcAndNm=qiao].Envlp.Qiao          exact integer units, CAIP-19 assets, decimals, corridors, legs
 * Import reads the same fields back into a quote request (sender, receiver, assets, amount).
 */
import { z } from 'zod';
import { currencyOf, decimalToUnits, unitsToDecimal, type TokenInfo } from './currency.ts';
import type { Agent, Pacs008, QiaoEnvelope, SupplementaryData } from './types.ts';

export interface SettlementRecord {
  uetr: string;
  /** Unix seconds the payment opened (0n when only quoted). */
  openedAt: bigint;
  sender: string;
  receiver: string;
  corridorIds: number[];
  legs: { index: number; chain: string; asset: string; amount: bigint; from: string; to: string; state?: string; escrow?: string }[];
  src: TokenInfo;
  dst: TokenInfo;
}

const compact = (uetr: string) => uetr.replace(/-/g, '');
const caip10 = (chain: string, address: string) => `${chain}:${address.toLowerCase()}`;
const agent = (id: string, scheme: string): Agent => ({ FinInstnId: { Othr: { Id: id, SchmeNm: { Prtry: scheme } } } });

/** received/instructed in currency units, 10 decimal places, trailing zeros trimmed. */
function allInRate(inUnits: bigint, inDec: number, outUnits: bigint, outDec: number): string {
  if (inUnits === 0n) return '0';
  const scaled = (outUnits * 10n ** BigInt(inDec) * 10n ** 10n) / (inUnits * 10n ** BigInt(outDec));
  return unitsToDecimal(scaled, 10);
}

export function toPacs008(rec: SettlementRecord, opts: { now: Date }): Pacs008 {
  const legs = rec.legs;
  const first = legs[0]!;
  const last = legs[legs.length - 1]!;
  const srcCcy = currencyOf(rec.src.symbol);
  const dstCcy = currencyOf(rec.dst.symbol);
  const envelope: QiaoEnvelope = {
    srcAsset: rec.src.asset,
    dstAsset: rec.dst.asset,
    srcDecimals: rec.src.decimals,
    dstDecimals: rec.dst.decimals,
    amountUnits: first.amount.toString(),
    amountOutUnits: last.amount.toString(),
    corridorIds: rec.corridorIds,
    legs: legs.map((l) => ({ leg: l.index, chain: l.chain, asset: l.asset, amount: l.amount.toString(), from: l.from.toLowerCase(), to: l.to.toLowerCase(), ...(l.state ? { state: l.state } : {}), ...(l.escrow ? { escrow: l.escrow } : {}) })),
  };
  const id = compact(rec.uetr);
  // Providers: leg i's `to` for i < last is hop i's provider, paid on leg i's chain.
  const intermediaries: Partial<Record<'IntrmyAgt1' | 'IntrmyAgt2' | 'IntrmyAgt3', Agent>> = {};
  legs.slice(0, -1).forEach((l, i) => {
    if (i < 3) intermediaries[`IntrmyAgt${i + 1}` as 'IntrmyAgt1'] = agent(caip10(l.chain, l.to), 'CAIP-10');
  });
  return {
    FIToFICstmrCdtTrf: {
      GrpHdr: { MsgId: id, CreDtTm: opts.now.toISOString(), NbOfTxs: '1', SttlmInf: { SttlmMtd: 'CLRG' } },
      CdtTrfTxInf: [
        {
          PmtId: { InstrId: id, EndToEndId: id, UETR: rec.uetr },
          IntrBkSttlmAmt: { Ccy: dstCcy, Amt: unitsToDecimal(last.amount, rec.dst.decimals) },
          ...(rec.openedAt > 0n ? { IntrBkSttlmDt: new Date(Number(rec.openedAt) * 1000).toISOString().slice(0, 10) } : {}),
          InstdAmt: { Ccy: srcCcy, Amt: unitsToDecimal(first.amount, rec.src.decimals) },
          XchgRate: allInRate(first.amount, rec.src.decimals, last.amount, rec.dst.decimals),
          ChrgBr: 'DEBT',
          Dbtr: {},
          DbtrAcct: { Id: { Othr: { Id: caip10(first.chain, rec.sender), SchmeNm: { Prtry: 'CAIP-10' } } }, Ccy: srcCcy },
          DbtrAgt: agent(first.chain, 'CAIP-2'),
          ...intermediaries,
          CdtrAgt: agent(last.chain, 'CAIP-2'),
          Cdtr: {},
          CdtrAcct: { Id: { Othr: { Id: caip10(last.chain, rec.receiver), SchmeNm: { Prtry: 'CAIP-10' } } }, Ccy: dstCcy },
          SplmtryData: [{ PlcAndNm: 'qiao', Envlp: { Qiao: envelope } }],
        },
      ],
    },
  };
}

// ------------------------------------------------------------------ import

const CAIP2 = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
const EVM_CAIP10 = /^(eip155:[0-9]{1,20}):(0x[0-9a-fA-F]{40})$/;
const EVM_CAIP19 = /^(eip155:[0-9]{1,20})\/erc20:0x[0-9a-fA-F]{40}$/;
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const Amount = z.object({ Ccy: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'), Amt: z.string().regex(/^[0-9]{1,30}(\.[0-9]{1,30})?$/, 'must be a decimal amount') });
const AccountSchema = z.object({ Id: z.object({ Othr: z.object({ Id: z.string().regex(EVM_CAIP10, 'must be a CAIP-10 EVM account (eip155:<id>:0x…)') }) }) });
const Envelope = z.object({
  srcAsset: z.string().regex(EVM_CAIP19, 'must be a CAIP-19 erc20 asset'),
  dstAsset: z.string().regex(EVM_CAIP19, 'must be a CAIP-19 erc20 asset'),
  srcDecimals: z.number().int().min(0).max(36).optional(),
  dstDecimals: z.number().int().min(0).max(36).optional(),
  amountUnits: z.string().regex(/^[1-9][0-9]{0,77}$/, 'must be positive integer units').optional(),
});
const Doc = z.object({
  FIToFICstmrCdtTrf: z.object({
    GrpHdr: z.object({ MsgId: z.string().min(1).max(35), NbOfTxs: z.literal('1', { errorMap: () => ({ message: 'must be "1": one settlement per message' }) }) }).passthrough(),
    CdtTrfTxInf: z
      .array(
        z
          .object({
            PmtId: z.object({ EndToEndId: z.string().min(1).max(35), UETR: z.string().regex(UUID4, 'must be a lowercase UUIDv4').optional() }).passthrough(),
            InstdAmt: Amount.optional(),
            IntrBkSttlmAmt: Amount,
            DbtrAcct: AccountSchema.passthrough(),
            CdtrAcct: AccountSchema.passthrough(),
            DbtrAgt: z.object({ FinInstnId: z.object({ Othr: z.object({ Id: z.string().regex(CAIP2, 'must be a CAIP-2 chain id') }).passthrough() }).passthrough() }).passthrough().optional(),
            SplmtryData: z.array(z.object({ PlcAndNm: z.string(), Envlp: z.object({ Qiao: Envelope.passthrough().optional() }).passthrough() }).passthrough()).optional(),
          })
          .passthrough(),
      )
      .length(1, 'must hold exactly one transaction'),
  }).passthrough(),
}).passthrough();

export interface ImportedPayment {
  uetr: string | null;
  endToEndId: string;
  srcAsset: string;
  srcAccount: string;
  dstAsset: string;
  dstAccount: string;
  /** Units the sender locks (leg 0). */
  amount: bigint;
}

export type ImportResult = { ok: true; value: ImportedPayment } | { ok: false; reason: 'invalid_input'; field: string; detail: string };

/**
 * A pacs.008 JSON (as `toPacs008` writes it, or from a banking system that fills
 * the same elements) -> the quote request it asks for. Never throws.
 * Assets and the source token's decimals come from the qiao supplementary data, or
 * from `defaults` (a bank that knows nothing of CAIP-19 passes them alongside).
 */
export function fromPacs008(doc: unknown, defaults: { srcAsset?: string; dstAsset?: string; srcDecimals?: number } = {}): ImportResult {
  const bad = (field: string, detail: string): ImportResult => ({ ok: false, reason: 'invalid_input', field, detail });
  const r = Doc.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const field = i.path.map(String).join('.') || 'document';
    return bad(field, i.code === 'invalid_type' && i.received === 'undefined' ? 'is required' : i.message);
  }
  const tx = r.data.FIToFICstmrCdtTrf.CdtTrfTxInf[0]!;
  const base = 'FIToFICstmrCdtTrf.CdtTrfTxInf.0';
  const env = tx.SplmtryData?.find((s) => s.PlcAndNm === 'qiao')?.Envlp.Qiao;
  const srcAsset = (env?.srcAsset ?? defaults.srcAsset)?.toLowerCase();
  const dstAsset = (env?.dstAsset ?? defaults.dstAsset)?.toLowerCase();
  const srcDecimals = env?.srcDecimals ?? defaults.srcDecimals;
  if (!srcAsset || !EVM_CAIP19.test(srcAsset)) return bad(`${base}.SplmtryData.Envlp.Qiao.srcAsset`, 'a CAIP-19 source asset is required (supplementary data or srcAsset)');
  if (!dstAsset || !EVM_CAIP19.test(dstAsset)) return bad(`${base}.SplmtryData.Envlp.Qiao.dstAsset`, 'a CAIP-19 destination asset is required (supplementary data or dstAsset)');
  if (srcAsset === dstAsset) return bad(`${base}.SplmtryData.Envlp.Qiao.dstAsset`, 'must differ from the source asset');
  const dbtr = EVM_CAIP10.exec(tx.DbtrAcct.Id.Othr.Id)!;
  const cdtr = EVM_CAIP10.exec(tx.CdtrAcct.Id.Othr.Id)!;
  if (dbtr[1] !== EVM_CAIP19.exec(srcAsset)![1]) return bad(`${base}.DbtrAcct.Id.Othr.Id`, `the debtor account is on ${dbtr[1]}, the source asset on ${EVM_CAIP19.exec(srcAsset)![1]}`);
  if (cdtr[1] !== EVM_CAIP19.exec(dstAsset)![1]) return bad(`${base}.CdtrAcct.Id.Othr.Id`, `the creditor account is on ${cdtr[1]}, the destination asset on ${EVM_CAIP19.exec(dstAsset)![1]}`);
  if (tx.DbtrAgt && tx.DbtrAgt.FinInstnId.Othr.Id !== dbtr[1]) return bad(`${base}.DbtrAgt.FinInstnId.Othr.Id`, `names ${tx.DbtrAgt.FinInstnId.Othr.Id}, the debtor account is on ${dbtr[1]}`);

  let amount: bigint | null = null;
  if (tx.InstdAmt) {
    if (srcDecimals === undefined) return bad(`${base}.SplmtryData.Envlp.Qiao.srcDecimals`, 'the source token decimals are required to read InstdAmt');
    amount = decimalToUnits(tx.InstdAmt.Amt, srcDecimals);
    if (amount === null) return bad(`${base}.InstdAmt.Amt`, `has more than ${srcDecimals} decimal places`);
  }
  if (env?.amountUnits !== undefined) {
    const units = BigInt(env.amountUnits);
    if (amount !== null && amount !== units) return bad(`${base}.InstdAmt.Amt`, `${tx.InstdAmt!.Amt} does not match the supplementary amountUnits ${units}`);
    amount = units;
  }
  if (amount === null) return bad(`${base}.InstdAmt`, 'the instructed amount (source currency) is required');
  if (amount <= 0n) return bad(`${base}.InstdAmt.Amt`, 'must be positive');
  return {
    ok: true,
    value: {
      uetr: tx.PmtId.UETR ?? null,
      endToEndId: tx.PmtId.EndToEndId,
      srcAsset,
      srcAccount: dbtr[2]!.toLowerCase(),
      dstAsset,
      dstAccount: cdtr[2]!.toLowerCase(),
      amount,
    },
  };
}

export type { SupplementaryData };
