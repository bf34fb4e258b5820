/**
 * ISO 20022 JSON shapes we write and read: element names and nesting of
 * pacs.008.001.08 (FIToFICustomerCreditTransfer) and pacs.002.001.10
 * (FIToFIPaymentStatusReport), as a JSON rendering of the XML (one key per
 * element, repeated elements as arrays). Identifiers are CAIP ids, which are
 * longer than the schema's Max34Text/Max35Text fields allow: banking systems
 * that validate lengths must map them (the exact values also travel in
 * SplmtryData under PlcAndNm "qiao").
 */

export interface ActiveCurrencyAndAmount {
  Ccy: string;
  Amt: string;
}

export interface GenericId {
  Id: string;
  SchmeNm?: { Prtry: string };
}

export interface Account {
  Id: { Othr: GenericId };
  Ccy?: string;
}

export interface Agent {
  FinInstnId: { Othr: GenericId };
}

/** What the hub puts in SplmtryData: exact units and CAIP ids, so an import loses nothing. */
export interface QiaoEnvelope {
  srcAsset: string;
  dstAsset: string;
  /** Token decimals (the pacs.008 export gives them; a status report does not need them). */
  srcDecimals?: number;
  dstDecimals?: number;
  /** Integer units the sender locks (leg 0). */
  amountUnits: string;
  /** Integer units the receiver gets (last leg), when known. */
  amountOutUnits?: string;
  corridorIds?: number[];
  legs?: { leg: number; chain: string; asset: string; amount: string; from: string; to: string; state?: string; escrow?: string }[];
}

export interface SupplementaryData {
  PlcAndNm: 'qiao';
  Envlp: { Qiao: QiaoEnvelope };
}

export interface CreditTransferTx {
  PmtId: { InstrId?: string; EndToEndId: string; UETR?: string };
  IntrBkSttlmAmt: ActiveCurrencyAndAmount;
  IntrBkSttlmDt?: string;
  InstdAmt?: ActiveCurrencyAndAmount;
  XchgRate?: string;
  ChrgBr: 'DEBT' | 'CRED' | 'SHAR' | 'SLEV';
  Dbtr: { Nm?: string };
  DbtrAcct: Account;
  DbtrAgt: Agent;
  IntrmyAgt1?: Agent;
  IntrmyAgt2?: Agent;
  IntrmyAgt3?: Agent;
  CdtrAgt: Agent;
  Cdtr: { Nm?: string };
  CdtrAcct: Account;
  SplmtryData?: SupplementaryData[];
}

export interface Pacs008 {
  FIToFICstmrCdtTrf: {
    GrpHdr: { MsgId: string; CreDtTm: string; NbOfTxs: '1'; SttlmInf: { SttlmMtd: 'CLRG' } };
    CdtTrfTxInf: [CreditTransferTx];
  };
}

/** ACSC settled; RJCT refused or refunded; PDNG waiting for locks or the decision's delivery. */
export type TxStatus = 'ACSC' | 'RJCT' | 'PDNG';

export interface Pacs002 {
  FIToFIPmtStsRpt: {
    GrpHdr: { MsgId: string; CreDtTm: string };
    OrgnlGrpInfAndSts: { OrgnlMsgId: string; OrgnlMsgNmId: 'pacs.008.001.08' };
    TxInfAndSts: [
      {
        OrgnlEndToEndId: string;
        OrgnlUETR: string;
        TxSts: TxStatus;
        StsRsnInf?: { Rsn: { Cd: string }; AddtlInf: string[] }[];
        AccptncDtTm?: string;
        SplmtryData?: SupplementaryData[];
      },
    ];
  };
}
