import { copyFile, readFile, rename, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/**
 * anvil rewrites its `--state` file in place every interval, so a SIGKILL in
 * the middle of a write leaves a torn file that anvil then refuses to load
 * (exit 2), and the chain would not come back. A copy of the last whole file
 * is kept beside it; at start a torn file is set aside and the copy is used,
 * which loses at most the last seconds of blocks (the index re-commits lost
 * batches).
 */
export function goodCopyOf(stateFile: string): string {
  return `${stateFile}.good`;
}

async function isWhole(file: string): Promise<boolean> {
  try {
    JSON.parse(await readFile(file, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Above this size the check runs off the event loop: a busy chain's state is tens of MB, ~0.2 s of JSON.parse.
 * Below it the check stays inline: a thread per check costs more CPU than parsing a few MB (with the threshold at
 * 1 MB, every demo chain past its first minute or so started one every 3 s, tests included).
 */
const INLINE_CHECK_BYTES = 8 << 20;

const WHOLE_CHECK = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
let whole = false;
try { JSON.parse(readFileSync(workerData, 'utf8')); whole = true; } catch {}
parentPort.postMessage(whole);
`;

/** isWhole in a worker thread, so a hub relaying messages is not paused while a large copy is checked. */
function isWholeOffThread(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const w = new Worker(WHOLE_CHECK, { eval: true, workerData: file });
    w.once('message', (whole: boolean) => resolve(whole === true));
    w.once('error', () => resolve(false));
    w.once('exit', () => resolve(false));
    w.unref();
  });
}

/** Before anvil starts: a torn state file is replaced by the last whole copy (or an error says what to do). */
export async function repairStateFile(stateFile: string, logger?: Logger): Promise<void> {
  if (!existsSync(stateFile) || (await isWhole(stateFile))) return;
  const good = goodCopyOf(stateFile);
  const aside = `${stateFile}.torn-${Date.now()}`;
  if (existsSync(good) && (await isWhole(good))) {
    await rename(stateFile, aside);
    await copyFile(good, stateFile);
    logger?.warn({ stateFile, setAside: aside }, 'the chain state file was torn (killed mid-write); started from the last whole copy, the last seconds of blocks may be lost');
    return;
  }
  await rename(stateFile, aside);
  throw new Error(`the chain state file ${stateFile} is torn and no whole copy exists; it was moved to ${aside}`);
}

/** While anvil runs: copies the state file aside whenever it changed and ends as a whole JSON document. */
export function keepGoodCopy(stateFile: string, everyMs = 3000): () => void {
  let last = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        const s = await stat(stateFile);
        if (s.mtimeMs === last || s.size === 0) return;
        const tmp = `${goodCopyOf(stateFile)}.tmp`;
        await copyFile(stateFile, tmp);
        // A copy taken mid-write is torn: keep only whole ones.
        if (!(await (s.size > INLINE_CHECK_BYTES ? isWholeOffThread(tmp) : isWhole(tmp)))) return;
        await rename(tmp, goodCopyOf(stateFile));
        last = s.mtimeMs;
      } catch {
        // No file yet, or it moved: try again next time.
      } finally {
        busy = false;
      }
    })();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
