/**
 * ISO 4217 codes and decimal amounts for tokens. A token's symbol gives the
 * currency when it names one: "EUR", or a one-letter-prefixed stable token such
 * as "dUSD"/"wEUR" (the demo tokens); otherwise "XXX" (ISO 4217: "no currency
 * involved") and the exact CAIP-19 asset travels in the supplementary data.
 */
export interface TokenInfo {
  /** CAIP-19 asset. */
  asset: string;
  symbol: string | null;
  decimals: number;
}

export function currencyOf(symbol: string | null | undefined): string {
  if (!symbol) return 'XXX';
  if (/^[A-Z]{3}$/.test(symbol)) return symbol;
  const m = /^[a-z]([A-Z]{3})$/.exec(symbol);
  return m ? m[1]! : 'XXX';
}

/** Integer token units -> ISO decimal amount ("12.5", "3"); exact, no floating point. */
export function unitsToDecimal(units: bigint, decimals: number): string {
  if (units < 0n) throw new RangeError('negative amount');
  if (decimals === 0) return units.toString();
  const s = units.toString().padStart(decimals + 1, '0');
  const int = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, '');
  return frac ? `${int}.${frac}` : int;
}

/** ISO decimal amount -> integer token units; null when it is not a plain decimal or has more places than the token. */
export function decimalToUnits(amount: string, decimals: number): bigint | null {
  const m = /^([0-9]{1,30})(?:\.([0-9]{1,30}))?$/.exec(amount);
  if (!m) return null;
  const frac = m[2] ?? '';
  if (frac.length > decimals) return null;
  return BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
}
