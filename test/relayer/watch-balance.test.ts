import { describe, expect, it } from 'vitest';
import type { LeaseHolderInfo } from '../../relayer/lease.ts';
import { chainToHandOver, presenceLeaseKey } from '../../relayer/watch-balance.ts';

const lease = (key: string, holder: string): LeaseHolderInfo => ({ key, holder, fence: 1n, ttlMs: 5000 });
const procs = (...hs: string[]) => hs.map((h) => lease(presenceLeaseKey(h), h));
const watching = (holder: string, ...chains: string[]) => chains.map((c) => lease(`watch:${c}`, holder));

describe('watcher balance (chainToHandOver)', () => {
  it('hands over the newest chain while this process watches two more than the live process with the fewest', () => {
    const mine = ['eip155:1', 'eip155:2'];
    // A second process joined and watches nothing yet.
    expect(chainToHandOver('a', [...procs('a', 'b'), ...watching('a', ...mine)], mine)).toBe('eip155:2');
    // Once it watches one: even.
    expect(chainToHandOver('a', [...procs('a', 'b'), ...watching('a', 'eip155:1'), ...watching('b', 'eip155:2')], ['eip155:1'])).toBeNull();
    // Three chains, two processes: 2 and 1 is as even as it gets.
    const three = ['x:1', 'x:2', 'x:3'];
    expect(chainToHandOver('a', [...procs('a', 'b'), ...watching('a', 'x:1', 'x:2'), ...watching('b', 'x:3')], three.slice(0, 2))).toBeNull();
    expect(chainToHandOver('a', [...procs('a', 'b'), ...watching('a', ...three)], three)).toBe('x:3');
    // Four chains, three processes: 2, 2, 0 gives one away.
    expect(chainToHandOver('a', [...procs('a', 'b', 'c'), ...watching('a', 'x:1', 'x:2'), ...watching('b', 'x:3', 'x:4')], ['x:1', 'x:2'])).toBe('x:2');
  });

  it('keeps its chains when it is alone, watches one, or the others left (their presence lapsed)', () => {
    expect(chainToHandOver('a', [...procs('a'), ...watching('a', 'x:1', 'x:2')], ['x:1', 'x:2'])).toBeNull();
    expect(chainToHandOver('a', [...procs('a', 'b'), ...watching('a', 'x:1')], ['x:1'])).toBeNull();
    // No presence lease listed at all (the store lost it): only watcher holders count.
    expect(chainToHandOver('a', watching('a', 'x:1', 'x:2'), ['x:1', 'x:2'])).toBeNull();
  });

  it('counts a holder of watcher leases that keeps no presence lease (an older process) as live, for what it holds', () => {
    const mine = ['x:1', 'x:2', 'x:3'];
    expect(chainToHandOver('a', [...procs('a'), ...watching('a', ...mine), ...watching('old', 'x:4')], mine)).toBe('x:3');
    expect(chainToHandOver('a', [...procs('a'), ...watching('a', 'x:1', 'x:2'), ...watching('old', 'x:3')], ['x:1', 'x:2'])).toBeNull();
  });

  it('names presence leases within the lease key alphabet', () => {
    expect(presenceLeaseKey('host:12:ab')).toBe('proc:host:12:ab');
    expect(presenceLeaseKey('me@host:1:aa')).toBe('proc:me_host:1:aa');
  });
});
