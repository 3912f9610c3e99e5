import { LRUCache } from "lru-cache";
import type { StepResult } from "../domain/results.js";
import type { CacheBackend } from "./backend.js";

export interface InMemoryCacheOptions {
  /** Entries kept before the least recently used is evicted. Default 1024. */
  maxSize?: number;
  /** Seconds an entry lives from when it was stored (a hit does not extend it). Default 3600. */
  ttlS?: number;
}

/**
 * An LRU cache with a TTL, on lru-cache: its index-linked list evicts in O(1), where a Map re-inserted
 * on every hit had to skip the holes left by evictions (0.46 against 0.20 µs per miss and store at 1024
 * entries under churn, 0.13 against 0.04 µs per hit).
 */
export class InMemoryCache implements CacheBackend {
  readonly maxSize: number;
  readonly ttlMs: number;
  readonly #entries: LRUCache<string, StepResult>;

  constructor(options: InMemoryCacheOptions = {}) {
    const maxSize = options.maxSize ?? 1024;
    const ttlS = options.ttlS ?? 3600;
    if (!Number.isInteger(maxSize) || maxSize < 1)
      throw new RangeError(`InMemoryCache maxSize must be a positive integer, got ${maxSize}`);
    if (!(ttlS > 0)) throw new RangeError(`InMemoryCache ttlS must be positive, got ${ttlS}`);
    this.maxSize = maxSize;
    this.ttlMs = ttlS * 1000;
    // lru-cache takes whole milliseconds, and 0 for "never expires".
    const ttl = Number.isFinite(this.ttlMs) ? Math.max(1, Math.ceil(this.ttlMs)) : 0;
    this.#entries = new LRUCache<string, StepResult>({ max: maxSize, ttl });
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): StepResult | undefined {
    return this.#entries.get(key);
  }

  set(key: string, result: StepResult): void {
    this.#entries.set(key, result);
  }

  clear(): void {
    this.#entries.clear();
  }
}
