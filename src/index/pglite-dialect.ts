import type { PGlite } from '@electric-sql/pglite';
import type { DatabaseConnection, Dialect, Driver, TransactionSettings } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';

/** A FIFO lock: `lock()` resolves with the function that releases it. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const prev = this.#tail;
    this.#tail = prev.then(() => held);
    return prev.then(() => release);
  }
}

/**
 * PGlite is one session, and kysely-pglite's driver hands that same session to
 * every caller, so two concurrent Kysely transactions would interleave their
 * statements inside one BEGIN. This driver lets one caller hold the session at a
 * time, the way Kysely's own SQLite driver does.
 */
class SerializedDriver implements Driver {
  readonly #inner: Driver;
  readonly #mutex = new Mutex();
  readonly #releases = new Map<DatabaseConnection, () => void>();

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#mutex.lock();
    try {
      const conn = await this.#inner.acquireConnection();
      this.#releases.set(conn, release);
      return conn;
    } catch (err) {
      release();
      throw err;
    }
  }

  beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#inner.beginTransaction(conn, settings);
  }

  commitTransaction(conn: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(conn);
  }

  rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(conn);
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    try {
      await this.#inner.releaseConnection(conn);
    } finally {
      this.#releases.get(conn)?.();
      this.#releases.delete(conn);
    }
  }

  async destroy(): Promise<void> {
    // Waits for the holder of the session so close() never cuts a transaction in half.
    const release = await this.#mutex.lock();
    try {
      await this.#inner.destroy();
    } finally {
      release();
    }
  }
}

/** kysely-pglite's dialect over an already opened PGlite, with serialized access. */
export function pgliteDialect(client: PGlite): Dialect {
  const base = new KyselyPGlite(client).dialect;
  return {
    createAdapter: () => base.createAdapter(),
    createDriver: () => new SerializedDriver(base.createDriver()),
    createIntrospector: (db) => base.createIntrospector(db),
    createQueryCompiler: () => base.createQueryCompiler(),
  };
}
