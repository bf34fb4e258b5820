import { describe, expect, it } from 'vitest';
import { stringifyJson, toJsonSafe } from '../../src/api/json.ts';

describe('toJsonSafe', () => {
  it('turns bigints into decimal strings and Dates into ISO strings, deeply', () => {
    const at = new Date('2024-05-06T07:08:09.010Z');
    const out = toJsonSafe({ n: 2n ** 70n, at, list: [1n, { at }], nested: { neg: -5n, s: 'x', ok: true, nil: null } });
    expect(out).toEqual({
      n: '1180591620717411303424',
      at: '2024-05-06T07:08:09.010Z',
      list: ['1', { at: '2024-05-06T07:08:09.010Z' }],
      nested: { neg: '-5', s: 'x', ok: true, nil: null },
    });
  });

  it('renders bytes as 0x hex and invalid Dates as null', () => {
    expect(toJsonSafe({ b: new Uint8Array([0, 171, 255]), d: new Date(Number.NaN) })).toEqual({ b: '0x00abff', d: null });
  });

  it('drops undefined object fields and keeps array positions as null, like JSON.stringify', () => {
    expect(toJsonSafe({ a: undefined, b: [undefined, 1] })).toEqual({ b: [null, 1] });
  });

  it('cuts cycles instead of throwing', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(toJsonSafe(a)).toEqual({ name: 'a', self: null });
  });

  it('keeps shared (non-cyclic) references', () => {
    const shared = { v: 1n };
    expect(toJsonSafe({ x: shared, y: shared })).toEqual({ x: { v: '1' }, y: { v: '1' } });
  });

  it('stringifies what JSON.stringify would reject', () => {
    expect(() => JSON.stringify({ n: 1n })).toThrow();
    expect(JSON.parse(stringifyJson({ n: 1n, at: new Date(0) }))).toEqual({ n: '1', at: '1970-01-01T00:00:00.000Z' });
  });
});
