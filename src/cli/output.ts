/** Human tables by default, JSON for scripts. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  console.log(columns.map((c, i) => c.toUpperCase().padEnd(widths[i]!)).join('  '));
  for (const row of cells) console.log(row.map((v, i) => v.padEnd(widths[i]!)).join('  '));
}

export function printJson(v: unknown): void {
  console.log(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2));
}

export function short(hex: string | null | undefined, n = 10): string {
  if (!hex) return '';
  return hex.length > n + 4 ? `${hex.slice(0, n)}…` : hex;
}
