/**
 * A step cache that survives restarts: results by cache key in the `cache` table of a SQLite state file,
 * for `Step.cached(step, { backend })` and for the executor cache (`new Flujo(p, { cache })`). Cache keys
 * are stable across processes (docs/canonical-encoding.md), so a second process hits what the first one
 * stored. Entries expire after `ttlS`; past `maxEntries` the least recently used go first (use times are
 * refreshed at most once a minute, so a hit is a read, not a write).
 */
import { StateBackendError } from "../domain/errors.js";
import { type StepResult, stepResultFromPlain, stepResultToPlain } from "../domain/results.js";
import { decodeState, encodeState } from "../state/codec.js";
import { SQLiteBackend, type SQLiteBackendOptions } from "../state/sqlite.js";
import type { CacheBackend } from "./backend.js";

export interface SQLiteCacheOptions extends SQLiteBackendOptions {
  /** Seconds an entry lives. Default 3600, as InMemoryCache. */
  ttlS?: number;
  /** Entries kept before the least recently used are evicted. Default 10000. */
  maxEntries?: number;
}

const TOUCH_MS = 60_000;
/** Eviction runs after this many stores, so the table may hold up to maxEntries + TRIM_EVERY entries. */
const TRIM_EVERY = 64;

export class SQLiteCache implements CacheBackend {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly #state: SQLiteBackend;
  readonly #owned: boolean;
  readonly #get;
  readonly #put;
  readonly #touch;
  readonly #drop;
  readonly #trim;
  readonly #count;
  readonly #expire;
  #stores = 0;

  /** `source`: a SQLiteBackend to share a file and connection with, or the path of a state file. */
  constructor(source: SQLiteBackend | string, options: SQLiteCacheOptions = {}) {
    const ttlS = options.ttlS ?? 3600;
    const maxEntries = options.maxEntries ?? 10_000;
    if (!(ttlS > 0)) throw new RangeError(`SQLiteCache ttlS must be positive, got ${ttlS}`);
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`SQLiteCache maxEntries must be a positive integer, got ${maxEntries}`);
    this.ttlMs = ttlS * 1000;
    this.maxEntries = maxEntries;
    this.#owned = typeof source === "string";
    this.#state = typeof source === "string" ? new SQLiteBackend(source, options) : source;
    const db = this.#state.db;
    this.#get = db.prepare("SELECT value, expires_at, used_at FROM cache WHERE key = ?");
    this.#put = db.prepare(
      "INSERT OR REPLACE INTO cache (key, value, expires_at, used_at, bytes) VALUES (?, ?, ?, ?, ?)",
    );
    this.#touch = db.prepare("UPDATE cache SET used_at = ? WHERE key = ?");
    this.#drop = db.prepare("DELETE FROM cache WHERE key = ?");
    this.#trim = db.prepare(
      "DELETE FROM cache WHERE key IN (SELECT key FROM cache ORDER BY used_at LIMIT ?)",
    );
    this.#count = db.prepare("SELECT count(*) AS n FROM cache");
    this.#expire = db.prepare("DELETE FROM cache WHERE expires_at <= ?");
  }

  get size(): number {
    return (this.#count.get() as { n: number }).n;
  }

  get(key: string): StepResult | undefined {
    const row = this.#get.get(key) as { value: Uint8Array; expires_at: number; used_at: number } | undefined;
    if (row === undefined) return undefined;
    const now = Date.now();
    if (row.expires_at <= now) {
      this.#drop.run(key);
      return undefined;
    }
    if (now - row.used_at > TOUCH_MS) this.#touch.run(now, key);
    try {
      return stepResultFromPlain(decodeState(row.value, `${this.#state.path}: cache entry '${key}'`));
    } catch (err) {
      // An unreadable entry is a miss (and is dropped), never a failed step.
      this.#drop.run(key);
      if (err instanceof StateBackendError || err instanceof TypeError) return undefined;
      throw err;
    }
  }

  set(key: string, result: StepResult): void {
    const value = encodeState(stepResultToPlain(result), `cache entry for step '${result.name}'`);
    const now = Date.now();
    this.#put.run(key, value, now + this.ttlMs, now, value.byteLength);
    if (++this.#stores % TRIM_EVERY === 0) this.#evict();
  }

  clear(): void {
    this.#state.db.exec("DELETE FROM cache");
  }

  /** Closes the file if this cache opened it (a shared SQLiteBackend stays open). */
  close(): void {
    if (this.#owned) this.#state.close();
  }

  #evict(): void {
    this.#expire.run(Date.now());
    const over = this.size - this.maxEntries;
    if (over > 0) this.#trim.run(over);
  }
}
