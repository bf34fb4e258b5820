/**
 * pacs.002 (FI to FI payment status report) of a settlement.
 *
 * Status mapping (SettlementHub decision + each leg's escrow on its own chain):
 *   ACSC  committed and every leg's escrow lock released (the money is where it was sent)
 *   RJCT  aborted; StsRsnInf.Rsn.Cd: AM04 (InsufficientFunds) when a leg's lock failed
 *         (the escrows' only LOCK_FAILED reason is provider liquidity), AB03
 *         (AbortedSettlementTimeout) when the deadline passed; AddtlInf says which legs
 *         were refunded
 *   PDNG  anything else: open (waiting for locks), or committed with releases in flight
 * OrgnlEndToEndId and OrgnlMsgId are the UETR without dashes, as the pacs.008 export writes them.
 */
import type { Pacs002, SupplementaryData, TxStatus } from './types.ts';

export interface StatusRecord {
  uetr: string;
  state: 'none' | 'open' | 'committed' | 'aborted';
  decidedAt: bigint;
  legs: { index: number; chain: string; asset: string; amount: bigint; from: string; to: string; state: string; escrow: { state: string } | null }[];
}

export function txStatusOf(p: StatusRecord): { status: TxStatus; reason?: { code: string; info: string[] } } {
  if (p.state === 'committed' && p.legs.length > 0 && p.legs.every((l) => l.escrow?.state === 'released')) return { status: 'ACSC' };
  if (p.state === 'aborted') {
    const failed = p.legs.filter((l) => l.state === 'lock_failed').map((l) => l.index);
    const refunded = p.legs.filter((l) => l.escrow?.state === 'refunded').map((l) => l.index);
    const info = [
      failed.length ? `lock failed on leg ${failed.join(', ')}` : 'deadline passed before every leg was locked',
      refunded.length ? `refunded: leg ${refunded.join(', ')}` : 'no leg refunded yet (or none was locked)',
    ];
    return { status: 'RJCT', reason: { code: failed.length ? 'AM04' : 'AB03', info } };
  }
  return { status: 'PDNG' };
}

export function toPacs002(p: StatusRecord, opts: { now: Date }): Pacs002 {
  const id = p.uetr.replace(/-/g, '');
  const s = txStatusOf(p);
  const supplementary: SupplementaryData = {
    PlcAndNm: 'qiao',
    Envlp: {
      Qiao: {
        srcAsset: p.legs[0]?.asset ?? '',
        dstAsset: p.legs[p.legs.length - 1]?.asset ?? '',
        amountUnits: (p.legs[0]?.amount ?? 0n).toString(),
        legs: p.legs.map((l) => ({ leg: l.index, chain: l.chain, asset: l.asset, amount: l.amount.toString(), from: l.from.toLowerCase(), to: l.to.toLowerCase(), state: l.state, escrow: l.escrow?.state ?? 'unknown' })),
      },
    },
  };
  return {
    FIToFIPmtStsRpt: {
      GrpHdr: { MsgId: `${id.slice(0, 28)}-${(opts.now.getTime() % 1e6).toString(36)}`.slice(0, 35), CreDtTm: opts.now.toISOString() },
      OrgnlGrpInfAndSts: { OrgnlMsgId: id, OrgnlMsgNmId: 'pacs.008.001.08' },
      TxInfAndSts: [
        {
          OrgnlEndToEndId: id,
          OrgnlUETR: p.uetr,
          TxSts: s.status,
          ...(s.reason ? { StsRsnInf: [{ Rsn: { Cd: s.reason.code }, AddtlInf: s.reason.info }] } : {}),
          ...(s.status === 'ACSC' && p.decidedAt > 0n ? { AccptncDtTm: new Date(Number(p.decidedAt) * 1000).toISOString() } : {}),
          SplmtryData: [supplementary],
        },
      ],
    },
  };
}
