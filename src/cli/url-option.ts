import { ValidationError } from '../errors.ts';

/** A command-line value that must be an http(s) URL (RPC and API endpoints). */
export function httpUrl(v: string, field: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch (cause) {
    throw new ValidationError(field, 'must be an http(s) URL', { cause });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ValidationError(field, 'must be an http(s) URL');
  return v;
}
