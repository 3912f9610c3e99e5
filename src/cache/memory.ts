import type { StepResult } from "../domain/results.js";
import type { CacheBackend } from "./backend.js";

export interface InMemoryCacheOptions {
  /** Entries kept before the least recently used is evicted. Default 1024. */
  maxSize?: number;
  /** Seconds an entry lives. Default 3600. */
  ttlS?: number;
}

interface Entry {
  result: StepResult;
  expiresAt: number;
}

/** An LRU cache with a TTL. A Map keeps insertion order, so re-inserting on a hit makes it most recent. */
export class InMemoryCache implements CacheBackend {
  readonly maxSize: number;
  readonly ttlMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: InMemoryCacheOptions = {}) {
    const maxSize = options.maxSize ?? 1024;
    const ttlS = options.ttlS ?? 3600;
    if (!Number.isInteger(maxSize) || maxSize < 1)
      throw new RangeError(`InMemoryCache maxSize must be a positive integer, got ${maxSize}`);
    if (!(ttlS > 0)) throw new RangeError(`InMemoryCache ttlS must be positive, got ${ttlS}`);
    this.maxSize = maxSize;
    this.ttlMs = ttlS * 1000;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): StepResult | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.result;
  }

  set(key: string, result: StepResult): void {
    this.#entries.delete(key);
    this.#entries.set(key, { result, expiresAt: Date.now() + this.ttlMs });
    if (this.#entries.size > this.maxSize) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
