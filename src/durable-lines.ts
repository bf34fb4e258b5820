import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { QiaoError } from './errors.ts';

export class DurableLinesCorruptError extends QiaoError {
  constructor(readonly file: string, readonly line: number, options: { cause?: unknown } = {}) {
    super('durable_record_corrupt', `${file} is corrupt at line ${line}`, { ...options, data: { file, line } });
  }
}

/**
 * An append-only file of JSON lines, each fsynced before `append` returns: the
 * records that must survive a crash before anything they promise leaves the
 * process (an attestor's one root per batch, a solo machine's one payload per
 * sequence, the txs it signed). On open, every line is handed to `load` (which
 * throws on an entry it cannot take); a torn LAST line is what a crash
 * mid-append leaves, was never fsynced and so never acted on: it is cut off,
 * so the next append does not turn it into a corrupt middle line. An unreadable
 * line anywhere else is corruption and refuses to open.
 */
export class DurableLines<T> {
  private fd: number | undefined;

  private constructor(readonly file: string, fd: number) {
    this.fd = fd;
  }

  static open<T>(file: string, load: (entry: T) => void): DurableLines<T> {
    mkdirSync(dirname(file), { recursive: true });
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // first use
    }
    const lines = text.split('\n');
    let offset = 0;
    let truncated = false;
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      const start = offset;
      offset += Buffer.byteLength(raw) + 1;
      const line = raw.trim();
      if (!line) continue;
      try {
        load(JSON.parse(line) as T);
      } catch (cause) {
        if (lines.slice(i + 1).some((l) => l.trim())) throw new DurableLinesCorruptError(file, i + 1, { cause });
        truncateSync(file, start);
        truncated = true;
      }
    }
    const fd = openSync(file, 'a');
    if (!truncated && text.length > 0 && !text.endsWith('\n')) writeSync(fd, '\n');
    fsyncSync(fd);
    return new DurableLines<T>(file, fd);
  }

  append(entry: T): void {
    if (this.fd === undefined) throw new QiaoError('durable_record_closed', `${this.file} is closed`);
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
