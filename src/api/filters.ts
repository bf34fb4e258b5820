import { parseChainId } from '../domain/caip.ts';
import { isHex } from '../domain/hex.ts';
import { MESSAGE_STATUSES, type MessageStatus } from '../domain/status.ts';
import { ValidationError } from '../errors.ts';
import { account, lane } from '../index/inputs.ts';
import type { MessageFilter, TransitionEvent } from '../index/types.ts';

/*
 * Query parameters of /messages and /messages/stream: the JSON schemas fastify
 * checks first (types, lengths, unknown names) and the parsers that turn them
 * into index filters, each error naming its parameter.
 */

/** The filters the stream shares with /messages. */
export const STREAM_FILTER_KEYS = ['chain', 'srcChain', 'dstChain', 'lane', 'status', 'sender', 'receiver', 'account'] as const;
export type StreamQuery = Partial<Record<(typeof STREAM_FILTER_KEYS)[number], string>>;

export interface MessagesQuery extends StreamQuery {
  since?: string;
  until?: string;
  txHash?: string;
  cursor?: string;
  limit?: string;
}

const STREAM_PROPERTIES = {
  chain: { type: 'string', maxLength: 128, description: 'Source or destination chain (CAIP-2).' },
  srcChain: { type: 'string', maxLength: 128, description: 'Source chain (CAIP-2).' },
  dstChain: { type: 'string', maxLength: 128, description: 'Destination chain (CAIP-2).' },
  lane: { type: 'string', maxLength: 257, description: 'A lane as `<srcChain>><dstChain>`, e.g. `eip155:1>eip155:10`.' },
  status: { type: 'string', maxLength: 32, enum: [...MESSAGE_STATUSES], description: 'Message status (for the stream: the status a transition moved to).' },
  sender: { type: 'string', maxLength: 1024, description: 'Sender address (hex matched case-insensitively).' },
  receiver: { type: 'string', maxLength: 1024, description: 'Receiver address (hex matched case-insensitively).' },
  account: { type: 'string', maxLength: 300, description: 'CAIP-10 account: the sender on its source chain or the receiver on its destination chain.' },
} as const;

// additionalProperties:false on every querystring so that a misspelt filter
// (`?src_chain=`) is a 400 instead of silently returning everything.
export const STREAM_QUERY = { type: 'object', additionalProperties: false, properties: STREAM_PROPERTIES } as const;

export const MESSAGES_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...STREAM_PROPERTIES,
    since: { type: 'string', maxLength: 64, description: 'ISO-8601 time: messages created at or after it.' },
    until: { type: 'string', maxLength: 64, description: 'ISO-8601 time: messages created before it.' },
    txHash: { type: 'string', maxLength: 130, description: 'Source or destination transaction hash (0x hex).' },
    cursor: { type: 'string', maxLength: 1024, description: 'The `nextCursor` of the previous page.' },
    // Plain decimal digits only (ajv would coerce "1e2" to 100); the range 1..500 is the index's rule.
    limit: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'Page size, 1..500 (default 50).' },
  },
} as const;

// A date, or a date and time with seconds optional and a zone required (a time
// without one would be read in the server's local zone).
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

export function isoTime(v: string, field: string): Date {
  const t = ISO_TIME.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new ValidationError(field, 'must be an ISO-8601 date or time with a zone, e.g. 2026-11-25T09:00:00Z');
  return new Date(t);
}

/** The index stores hex addresses lowercase and other families' forms as given. */
function address(v: string, field: string): string {
  if (v.length === 0) throw new ValidationError(field, 'must not be empty');
  return isHex(v) ? v.toLowerCase() : v;
}

function statusOf(v: string): MessageStatus {
  if (!(MESSAGE_STATUSES as readonly string[]).includes(v)) throw new ValidationError('status', `must be one of ${MESSAGE_STATUSES.join(', ')}`);
  return v as MessageStatus;
}

export type StreamFilter = Pick<MessageFilter, 'chain' | 'srcChain' | 'dstChain' | 'lane' | 'status' | 'sender' | 'receiver' | 'account'>;

export function toStreamFilter(q: StreamQuery): StreamFilter {
  const f: StreamFilter = {};
  if (q.chain !== undefined) f.chain = parseChainId(q.chain, 'chain').id;
  if (q.srcChain !== undefined) f.srcChain = parseChainId(q.srcChain, 'srcChain').id;
  if (q.dstChain !== undefined) f.dstChain = parseChainId(q.dstChain, 'dstChain').id;
  if (q.lane !== undefined) {
    const l = lane(q.lane, 'lane');
    f.lane = `${l.srcChain}>${l.dstChain}`;
  }
  if (q.status !== undefined) f.status = statusOf(q.status);
  if (q.sender !== undefined) f.sender = address(q.sender, 'sender');
  if (q.receiver !== undefined) f.receiver = address(q.receiver, 'receiver');
  if (q.account !== undefined) {
    const a = account(q.account, 'account');
    f.account = `${a.chain}:${a.address}`;
  }
  return f;
}

export function toMessageFilter(q: MessagesQuery): MessageFilter {
  const f: MessageFilter = toStreamFilter(q);
  if (q.since !== undefined) f.since = isoTime(q.since, 'since');
  if (q.until !== undefined) f.until = isoTime(q.until, 'until');
  if (f.since !== undefined && f.until !== undefined && f.until.getTime() <= f.since.getTime()) {
    throw new ValidationError('until', 'must be later than since');
  }
  if (q.txHash !== undefined) {
    if (!/^0x(?:[0-9a-fA-F]{2}){1,64}$/.test(q.txHash)) throw new ValidationError('txHash', 'must be 0x followed by hex digits (a transaction hash)');
    f.txHash = q.txHash.toLowerCase();
  }
  if (q.cursor !== undefined) f.cursor = q.cursor;
  if (q.limit !== undefined) f.limit = Number(q.limit);
  return f;
}

/** A stream filter compiled once per subscriber into a predicate over transition events. */
export function matcher(f: StreamFilter): (e: TransitionEvent) => boolean {
  const l = f.lane === undefined ? undefined : lane(f.lane);
  const a = f.account === undefined ? undefined : account(f.account);
  return (e) =>
    (f.chain === undefined || e.srcChain === f.chain || e.dstChain === f.chain) &&
    (f.srcChain === undefined || e.srcChain === f.srcChain) &&
    (f.dstChain === undefined || e.dstChain === f.dstChain) &&
    (l === undefined || (e.srcChain === l.srcChain && e.dstChain === l.dstChain)) &&
    (f.status === undefined || e.status === f.status) &&
    (f.sender === undefined || e.sender === f.sender) &&
    (f.receiver === undefined || e.receiver === f.receiver) &&
    (a === undefined || (e.srcChain === a.chain && e.sender === a.address) || (e.dstChain === a.chain && e.receiver === a.address));
}
