import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { QiaoError, ValidationError } from '../../errors.ts';
import type { RunOptions, VectorCase, VectorFormat, VectorFs } from './types.ts';

export const nodeVectorFs: VectorFs = {
  read: (p) => readFileSync(p),
  list: (d) =>
    readdirSync(d, { withFileTypes: true })
      .map((e) => ({ name: e.name, dir: e.isDirectory() }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  exists: (p) => existsSync(p),
};

export class UnreadableInputError extends QiaoError {
  constructor(readonly path: string, options: { cause?: unknown } = {}) {
    super('input_unreadable', `cannot read ${path}`, { ...options, data: { path } });
  }
}

export interface RunReport {
  cases: VectorCase[];
  notices: string[];
}

/**
 * Walks the inputs (folders recursively), lets formats claim folders and files
 * by content, and runs the claimed cases. A format that throws on a case makes
 * an `invalid` line with reason `format_error`, never a crash of the run.
 */
export function runVectors(inputs: string[], formats: readonly VectorFormat[], opts: RunOptions & { format?: string; fs?: VectorFs }): RunReport {
  const fs = opts.fs ?? nodeVectorFs;
  const cases: VectorCase[] = [];
  const notices: string[] = [];
  let forced: VectorFormat | undefined;
  if (opts.format) {
    forced = formats.find((f) => f.name === opts.format);
    if (!forced) throw new ValidationError('format', `unknown format "${opts.format}"; known: ${formats.map((f) => f.name).join(', ')}`);
  }
  const runCase = (f: VectorFormat, path: string) => {
    try {
      cases.push(...f.run(path, fs, opts));
    } catch (err) {
      cases.push({ case: path, expected: null, verdict: 'invalid', reason: `format_error: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) });
    }
  };
  const visit = (path: string) => {
    let st;
    try {
      st = statSync(path);
    } catch (cause) {
      throw new UnreadableInputError(path, { cause });
    }
    if (st.isDirectory()) {
      const claim = forced ? (forced.claimDir?.(path, fs) ? forced : undefined) : formats.find((f) => f.claimDir?.(path, fs));
      if (claim) return runCase(claim, path);
      let entries;
      try {
        entries = fs.list(path);
      } catch (cause) {
        throw new UnreadableInputError(path, { cause });
      }
      for (const e of entries) visit(join(path, e.name));
      return;
    }
    let content: Buffer;
    try {
      content = fs.read(path);
    } catch (cause) {
      throw new UnreadableInputError(path, { cause });
    }
    if (forced) {
      if (forced.claimFile?.(path, content, fs) === 'helper') return;
      return runCase(forced, path);
    }
    let helper = false;
    for (const f of formats) {
      const c = f.claimFile?.(path, content, fs);
      if (c === 'case') return runCase(f, path);
      if (c === 'helper') helper = true;
    }
    if (!helper) notices.push(`${path}: no known vector format; skipped`);
  };
  for (const input of inputs) visit(resolve(input));
  return { cases, notices };
}

/** 0: every expectation met and every case without one valid; 1 otherwise. */
export function exitCodeOf(cases: VectorCase[]): 0 | 1 {
  for (const c of cases) {
    if (c.expected === null ? c.verdict !== 'valid' : c.verdict !== c.expected) return 1;
  }
  return 0;
}
