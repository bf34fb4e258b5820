/**
 * `work`, or a rejection after `ms` (the work itself goes on: the caller decides what to drop). Used where a
 * library waits forever by design, e.g. a WebSocket provider that keeps reconnecting to an endpoint that is down.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
