import { Agent, request } from 'node:http';

const BLOCK_NUMBER = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}');

/**
 * When each block of a chain was first seen, by wall clock. Block timestamps
 * are whole seconds (anvil with 1 s blocks: every latency came out as 1 s or
 * 2 s), too coarse for a 2 s goal; this polls `eth_blockNumber` every
 * `everyMs` and stamps each new number with `performance.now()`, so a latency
 * between two chains' blocks is known to within about one poll. Blocks passed
 * between two polls share the later stamp (an upper bound).
 */
export class BlockClock {
  private readonly seen = new Map<number, number>();
  private last = -1;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private failures = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  private constructor(
    private readonly url: string,
    private readonly everyMs: number,
  ) {}

  static async start(url: string, everyMs = 20): Promise<BlockClock> {
    const c = new BlockClock(url, everyMs);
    c.last = await c.blockNumber();
    c.timer = setInterval(() => void c.tick(), everyMs);
    return c;
  }

  /**
   * node:http on a kept-alive connection, not fetch: 100 polls a second through fetch (undici, web streams) took
   * ~15% of a core in a profile of the benchmark process, on the two cores the relayer being measured shares.
   */
  private blockNumber(): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(this.url, { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': BLOCK_NUMBER.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown };
            if (typeof body.result !== 'string') throw new Error(`eth_blockNumber at ${this.url} answered ${JSON.stringify(body).slice(0, 200)}`);
            resolve(Number(BigInt(body.result)));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
      req.setTimeout(5000, () => req.destroy(new Error(`eth_blockNumber at ${this.url} timed out`)));
      req.on('error', reject);
      req.end(BLOCK_NUMBER);
    });
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const n = await this.blockNumber();
      const now = performance.now();
      for (let k = this.last + 1; k <= n; k++) this.seen.set(k, now);
      if (n > this.last) this.last = n;
    } catch {
      this.failures++;
    } finally {
      this.busy = false;
    }
  }

  /** When block `n` was first seen (ms, performance.now()); undefined for blocks before the clock started or not yet seen. */
  at(n: number): number | undefined {
    return this.seen.get(n);
  }

  /** Polls that failed (a busy node); reported with the figures, since each widens the error bound. */
  get failedPolls(): number {
    return this.failures;
  }

  get pollMs(): number {
    return this.everyMs;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.agent.destroy();
  }
}
