import { z } from 'zod';
import { ValidationError } from '../src/errors.ts';

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const height = z.string().regex(/^\d{1,20}$/);
const chain = z.string().regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/);

/** Queue payloads are validated when a job is taken, like any other boundary. */
export const VerifyJob = z.object({ chainId: chain, height, ids: z.array(hex32).min(1).max(5000) }).strict();
export const CommitJob = z.object({ reason: z.string().max(64) }).strict();
export const AttestJob = z.object({ batchNo: height }).strict();
export const DeliverJob = z.object({ batchNo: height, dstChain: chain }).strict();
/** Ack messages delivered on `chainId` (a source port): their originals move to acknowledged or refunded. */
export const AckJob = z.object({ chainId: chain, ids: z.array(hex32).min(1).max(5000) }).strict();
/** One attested message past its timeout at its destination: write the cancel marker. */
export const TimeoutJob = z.object({ id: hex32 }).strict();

/**
 * An ordered lane's failed head (issue 5), on the deliver queue: recorded straight into the dead letters for an
 * operator; `qiao dlq retry` runs it (re-delivers the message), `qiao dlq skip` turns it into an OrderedSkipJob.
 */
export const OrderedHeadJob = z.object({ id: hex32, dstChain: chain }).strict();
/** The operator's skip of an ordered lane's head, on the deliver queue: the port admin skips it on chain. */
export const OrderedSkipJob = z.object({ id: hex32, dstChain: chain, reason: z.string().min(1).max(256) }).strict();

export type VerifyJob = z.infer<typeof VerifyJob>;
export type CommitJob = z.infer<typeof CommitJob>;
export type AttestJob = z.infer<typeof AttestJob>;
export type DeliverJob = z.infer<typeof DeliverJob>;
export type AckJob = z.infer<typeof AckJob>;
export type TimeoutJob = z.infer<typeof TimeoutJob>;
export type OrderedHeadJob = z.infer<typeof OrderedHeadJob>;
export type OrderedSkipJob = z.infer<typeof OrderedSkipJob>;

export function parseJob<T>(schema: z.ZodType<T>, data: unknown, queue: string): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ValidationError(`${queue}.${issue.path.join('.') || 'data'}`, issue.message, { cause: r.error });
  }
  return r.data;
}
