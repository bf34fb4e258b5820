/** Small helpers shared by the benchmarks. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `f` repeatedly for at least `minMs`, returns operations per second and the count. */
export function opsPerSecond(f: () => void, minMs = 1000): { opsPerSec: number; count: number } {
  for (let i = 0; i < 50; i++) f();
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 20; i++) f();
    count += 20;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { opsPerSec: (count * 1000) / elapsed, count };
}

export function progress(label: string, done: number, total: number): void {
  if (!process.stderr.isTTY) {
    if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) process.stderr.write(`  ${label}: ${done}/${total}\n`);
    return;
  }
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r  ${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
}
