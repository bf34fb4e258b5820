import type { LeaseHolderInfo } from './lease.ts';

/** A relayer process's presence lease (held while it runs): how the others count who is there to take a chain. */
export const presenceLeaseKey = (holder: string) => `proc:${holder.replace(/[^A-Za-z0-9._:/-]/g, '_')}`;

const isWatch = (key: string) => key.startsWith('watch:');
const isPresence = (key: string) => key.startsWith('proc:');

/**
 * The chain whose watcher this process should hand over, or null. Watcher
 * leases go to whoever asks first, so the process that started first kept
 * every chain however many joined later (seen: one worker watching both
 * chains at 45% of a core while the other watched none). A process that holds
 * at least two more watcher leases than the live process holding the fewest
 * gives one up; one per call, so the counts settle without swinging.
 *
 * `mine` lists this process's chains, oldest lease first: the newest goes, so
 * a long-held chain keeps its watcher. Live processes are those with a
 * presence lease, and any holder of a watcher lease (a process that keeps no
 * presence lease still counts for what it holds).
 */
export function chainToHandOver(me: string, holders: readonly LeaseHolderInfo[], mine: readonly string[]): string | null {
  if (mine.length < 2) return null;
  const counts = new Map<string, number>([[me, mine.length]]);
  for (const h of holders) {
    if (isPresence(h.key) && !counts.has(h.holder)) counts.set(h.holder, 0);
  }
  for (const h of holders) {
    if (isWatch(h.key) && h.holder !== me) counts.set(h.holder, (counts.get(h.holder) ?? 0) + 1);
  }
  const fewest = Math.min(...counts.values());
  return mine.length - fewest >= 2 ? mine[mine.length - 1]! : null;
}
