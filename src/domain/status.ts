export const MESSAGE_STATUSES = [
  'sent',
  'verified',
  'committed',
  'attested',
  'delivered',
  'acknowledged',
  'failed',
  'timed_out',
  'refunded',
  'quarantined',
] as const;

export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export function isMessageStatus(v: unknown): v is MessageStatus {
  return typeof v === 'string' && (MESSAGE_STATUSES as readonly string[]).includes(v);
}

/** Statuses after which nothing moves a message forward any more. */
export const TERMINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['acknowledged', 'refunded', 'quarantined']);

// Forward order of the happy path; a transition never moves a message backwards
// along it (a replayed job must not turn `delivered` back into `committed`).
const RANK: Record<MessageStatus, number> = {
  sent: 0,
  verified: 1,
  committed: 2,
  attested: 3,
  failed: 4,
  delivered: 5,
  timed_out: 5,
  acknowledged: 6,
  refunded: 6,
  quarantined: 7,
};

export function statusRank(s: MessageStatus): number {
  return RANK[s];
}

/** May a message in `from` move to `to`? (`failed` is retryable into `delivered`.) */
export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  if (from === to) return false;
  if (TERMINAL_STATUSES.has(from)) return false;
  if (to === 'quarantined') return from === 'sent' || from === 'verified';
  // Never both delivered and refunded: a refund follows a cancel (timed_out), or a
  // failed or undelivered message whose cancel the index did not see yet.
  if (to === 'refunded') return from === 'timed_out' || from === 'failed' || from === 'attested';
  // A cancelled message is acknowledged by its refund, never by a delivery receipt.
  if (to === 'acknowledged' && from === 'timed_out') return false;
  return RANK[to] > RANK[from];
}
