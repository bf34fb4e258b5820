/** ISO 20022 JSON export/import of settlements (pacs.008, pacs.002). */
export * from './types.ts';
export { currencyOf, decimalToUnits, unitsToDecimal, type TokenInfo } from './currency.ts';
export { fromPacs008, toPacs008, type ImportedPayment, type ImportResult, type SettlementRecord } from './pacs008.ts';
export { toPacs002, txStatusOf, type StatusRecord } from './pacs002.ts';
