import type { KV } from '../node/module.ts';

const enc = new TextEncoder();

export type ReceiverResult = { ok: true } | { ok: false; reason: string };

/**
 * The model receiver account: records (id, payload) and fails, like a reverting contract,
 * when the payload's UTF-8 starts with "fail" (then it records nothing).
 */
export class ModelReceiver {
  constructor(readonly addressBytes: Uint8Array) {}

  deliver(store: KV, id: string, payload: Uint8Array): ReceiverResult {
    const text = Buffer.from(payload).toString('utf8');
    if (text.startsWith('fail')) return { ok: false, reason: `receiver reverted: ${text.slice(0, 200)}` };
    store.set(enc.encode(`receiver/${id}`), payload);
    return { ok: true };
  }

  record(store: KV, id: string): Uint8Array | undefined {
    return store.get(enc.encode(`receiver/${id}`));
  }
}
