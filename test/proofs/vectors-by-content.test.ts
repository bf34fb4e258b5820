import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VECTOR_FORMATS } from '../../src/cli/vectors/registry.ts';
import { nodeVectorFs, runVectors } from '../../src/cli/vectors/runner.ts';
import { HAVE_VECTORS, VECTORS_DIR } from '../helpers/vectors.ts';

const NOW = new Date('2026-11-25T00:00:00Z');

/**
 * Formats are recognised by content, never by file name: every vector copied
 * to a randomly named path must get the same verdicts. Files keep their names
 * only inside a folder that a format claims as one case (a beacon test case),
 * because there the names are part of the upstream format.
 */
function copyRandomised(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, e.name);
    const to = join(dst, `v${randomBytes(6).toString('hex')}`);
    if (e.isDirectory()) {
      if (VECTOR_FORMATS.some((f) => f.claimDir?.(from, nodeVectorFs))) cpSync(from, to, { recursive: true });
      else copyRandomised(from, to);
    } else if (statSync(from).isFile()) {
      cpSync(from, to);
    }
  }
}

const verdicts = (cases: { expected: string | null; verdict: string; reason: string | null }[]) =>
  cases.map((c) => `${c.expected}|${c.verdict}|${c.reason}`).sort();

describe.skipIf(!HAVE_VECTORS)('vector formats are detected by content', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'qiao-vectors-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('gives the same verdicts for every vector under random names', () => {
    const inPlace = runVectors([VECTORS_DIR], VECTOR_FORMATS, { now: NOW });
    const copy = join(tmp, `x${randomBytes(4).toString('hex')}`);
    copyRandomised(VECTORS_DIR, copy);
    const moved = runVectors([copy], VECTOR_FORMATS, { now: NOW });
    expect(moved.cases.length).toBe(inPlace.cases.length);
    expect(verdicts(moved.cases)).toEqual(verdicts(inPlace.cases));
  });
});

if (!HAVE_VECTORS) console.warn(`[qiao] NOTICE: ${VECTORS_DIR} absent; vector detection test skipped`);
