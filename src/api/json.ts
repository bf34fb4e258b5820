/**
 * The wire form of index values: JSON has no bigint and no Date, so both become
 * strings (decimal and ISO-8601). One helper so every route and the client agree.
 */
export type Jsonified<T> = T extends bigint | Date
  ? string
  : T extends Uint8Array
    ? string
    : T extends (infer U)[]
      ? Jsonified<U>[]
      : T extends readonly (infer U)[]
        ? readonly Jsonified<U>[]
        : T extends object
          ? { [K in keyof T]: Jsonified<T[K]> }
          : T;

/** Deep copy with bigint → decimal string, Date → ISO string (invalid Date → null), bytes → 0x hex. */
export function toJsonSafe<T>(value: T): Jsonified<T> {
  return convert(value, new Set()) as Jsonified<T>;
}

function convert(v: unknown, seen: Set<object>): unknown {
  if (typeof v === 'bigint') return v.toString(10);
  if (v === null || typeof v !== 'object') {
    // undefined and functions vanish as JSON.stringify would drop them from objects.
    return typeof v === 'function' ? undefined : v;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return `0x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  // A cycle would make JSON.stringify throw deep inside the reply; cut it here instead.
  if (seen.has(v)) return null;
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => convert(x, seen) ?? null);
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), convert(x, seen)]));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const c = convert(x, seen);
      if (c !== undefined) out[k] = c;
    }
    return out;
  } finally {
    seen.delete(v);
  }
}

export function stringifyJson(value: unknown): string {
  return JSON.stringify(toJsonSafe(value));
}
