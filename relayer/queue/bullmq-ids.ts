/**
 * BullMQ refuses custom job ids that contain `:` (its key separator) or look
 * like integers (its own counter ids). Our ids are free strings (CAIP ids carry
 * `:`), so they are escaped reversibly: `%` and `:` always, and the first
 * character of an integer-looking id.
 */
const hex = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

export function toBullmqId(id: string): string {
  const escaped = id.replace(/[%:]/g, hex);
  return `${parseInt(escaped, 10)}` === escaped ? `${hex(escaped[0]!)}${escaped.slice(1)}` : escaped;
}

export function fromBullmqId(id: string): string {
  return id.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
