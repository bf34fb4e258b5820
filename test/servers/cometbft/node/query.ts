/**
 * CometBFT's event query language, the subset the RPC needs: conditions joined by AND, operators
 * =, <, <=, >, >=, CONTAINS, EXISTS; values 'quoted' or bare numbers.
 */
export interface Condition {
  key: string;
  op: '=' | '<' | '<=' | '>' | '>=' | 'CONTAINS' | 'EXISTS';
  value: string;
}

export class QuerySyntaxError extends Error {}

export function parseQuery(q: string): Condition[] {
  const parts = q.split(/\s+AND\s+/i).map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new QuerySyntaxError('empty query');
  return parts.map((p) => {
    const m = /^([\w.\-/]+)\s*(?:(<=|>=|=|<|>)\s*(?:'([^']*)'|([^\s']+))|\s+(CONTAINS)\s+'([^']*)'|\s+(EXISTS))$/i.exec(p);
    if (!m) throw new QuerySyntaxError(`bad condition: ${p}`);
    if (m[7]) return { key: m[1]!, op: 'EXISTS', value: '' };
    if (m[5]) return { key: m[1]!, op: 'CONTAINS', value: m[6]! };
    return { key: m[1]!, op: m[2] as Condition['op'], value: m[3] ?? m[4]! };
  });
}

/** attrs: composite key ('tx.height', 'send_packet.packet_sequence') -> values */
export function matches(conds: Condition[], attrs: Map<string, string[]>): boolean {
  return conds.every((c) => {
    const values = attrs.get(c.key) ?? [];
    if (c.op === 'EXISTS') return values.length > 0;
    return values.some((v) => {
      switch (c.op) {
        case '=':
          return v === c.value;
        case 'CONTAINS':
          return v.includes(c.value);
        default: {
          const a = Number(v);
          const b = Number(c.value);
          if (Number.isNaN(a) || Number.isNaN(b)) return false;
          return c.op === '<' ? a < b : c.op === '<=' ? a <= b : c.op === '>' ? a > b : a >= b;
        }
      }
    });
  });
}
