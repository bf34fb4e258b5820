import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { DurableLines } from '../../../src/durable-lines.ts';
import { QiaoError } from '../../../src/errors.ts';

/** Another live holder (a second object in this process, or another process) has the file. */
export class SoloFileLockedError extends QiaoError {
  constructor(readonly file: string, readonly pid: number) {
    super('solo_file_locked', `${file} is in use by process ${pid}`, { data: { file, pid } });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive holder lock beside a record or journal (`<file>.lock`, holding the pid). Two objects
 * appending to one record would each miss the other's entries — exactly the double signature the
 * record exists to stop — so a second open fails while the first holder lives; a lock left by a
 * dead process is taken over.
 */
export function acquireLock(file: string): () => void {
  const lock = `${file}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) throw new SoloFileLockedError(file, pid);
      rmSync(lock, { force: true });
    }
  }
  throw new SoloFileLockedError(file, -1);
}

/** A durable JSON-lines file held under this lock: the lock is released if the file cannot be opened, and by `close`. */
export function openLockedLines<T>(file: string, load: (entry: T) => void): { append(entry: T): void; close(): void } {
  const release = acquireLock(file);
  let lines: DurableLines<T>;
  try {
    lines = DurableLines.open<T>(file, load);
  } catch (err) {
    release();
    throw err;
  }
  let closed = false;
  return {
    append: (entry) => lines.append(entry),
    close() {
      if (closed) return;
      closed = true;
      lines.close();
      release();
    },
  };
}
