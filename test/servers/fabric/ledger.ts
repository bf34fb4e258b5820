/** An append-only block store with waiters, used by the orderer and each peer. */
import { EventEmitter } from 'node:events';
import { common } from '@hyperledger/fabric-protos';
import { headerHash } from './block.ts';

export class BlockStore {
  private readonly blocks: common.Block[] = [];
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  get height(): number {
    return this.blocks.length;
  }

  get(n: number): common.Block | undefined {
    return this.blocks[n];
  }

  last(): common.Block | undefined {
    return this.blocks[this.blocks.length - 1];
  }

  lastHash(): Uint8Array {
    const b = this.last();
    return b ? headerHash(b.getHeader()!) : new Uint8Array(0);
  }

  append(b: common.Block): void {
    if (b.getHeader()!.getNumber() !== this.blocks.length) throw new Error(`block ${b.getHeader()!.getNumber()} out of order at height ${this.blocks.length}`);
    this.blocks.push(b);
    this.events.emit('block', this.blocks.length);
  }

  /** Resolves once block `n` exists (or immediately); the returned cancel function drops the waiter. */
  waitFor(n: number, cb: () => void): () => void {
    if (n < this.blocks.length) {
      cb();
      return () => {};
    }
    const h = (height: number): void => {
      if (n < height) {
        this.events.off('block', h);
        cb();
      }
    };
    this.events.on('block', h);
    return () => this.events.off('block', h);
  }

  all(): common.Block[] {
    return [...this.blocks];
  }
}
