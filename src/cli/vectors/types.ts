/**
 * Upstream proof vectors, as `qiao proof verify` reads them. Formats are found
 * by content, never by file name: each format claims a folder (a case made of
 * several files, e.g. a beacon test case) or a file by looking inside it.
 * Formats do no I/O of their own: they read through the VectorFs they are given.
 */
export interface VectorFs {
  read(path: string): Buffer;
  /** Entries of a folder, sorted by name. */
  list(dir: string): { name: string; dir: boolean }[];
  exists(path: string): boolean;
}

export type Verdict = 'valid' | 'invalid';

export interface VectorCase {
  /** `<path>` or `<path>#<name within the file>`. */
  case: string;
  /** From the vector's own fields only; null when the vector states none. */
  expected: Verdict | null;
  verdict: Verdict;
  /** A ProofFailure code (or the upstream verdict name in snake case) when invalid; null when valid. */
  reason: string | null;
}

export interface RunOptions {
  /** Trust anchors a vector lacks (e.g. a GRANDPA authority set), from --trust FILE (parsed JSON). */
  trust?: unknown;
  /** Clock for trusting periods when the vector gives none. */
  now: Date;
}

export interface VectorFormat {
  /** Stable name, usable with --format. */
  name: string;
  /** Does this folder, by its content, form one case (or a set of cases) of this format? */
  claimDir?(dir: string, fs: VectorFs): boolean;
  /**
   * Does this file belong to this format? `case`: run it; `helper`: a file a
   * case of this format uses (no line of its own); false: not this format.
   */
  claimFile?(path: string, content: Buffer, fs: VectorFs): 'case' | 'helper' | false;
  run(path: string, fs: VectorFs, opts: RunOptions): VectorCase[];
}
