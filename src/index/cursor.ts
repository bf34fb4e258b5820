import { ValidationError } from '../errors.ts';

const SEQ = /^[1-9][0-9]{0,18}$/;
const BIGINT_MAX = (1n << 63n) - 1n;

/** The opaque page cursor: base64url of the last row's seq (callers must not parse it). */
export function encodeCursor(seq: string): string {
  return Buffer.from(seq, 'utf8').toString('base64url');
}

/** The seq a cursor stands for; anything that `encodeCursor` could not have made is rejected. */
export function decodeCursor(cursor: unknown, field = 'cursor'): string {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 32) {
    throw new ValidationError(field, 'must be a nextCursor returned by a previous page');
  }
  const seq = Buffer.from(cursor, 'base64url').toString('utf8');
  // Node's base64url decoder skips junk characters, so insist on the exact round trip.
  if (!SEQ.test(seq) || encodeCursor(seq) !== cursor || BigInt(seq) > BIGINT_MAX) {
    throw new ValidationError(field, 'must be a nextCursor returned by a previous page');
  }
  return seq;
}
