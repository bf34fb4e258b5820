import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Upstream vectors are read in place, never copied into the project. */
export const VECTORS_DIR = process.env.QIAO_VECTORS ?? resolve(process.cwd(), '../shared/vectors');
export const HAVE_VECTORS = existsSync(VECTORS_DIR);
export function vectorPath(...parts: string[]): string {
  return resolve(VECTORS_DIR, ...parts);
}
