import type { StepResult } from "../domain/results.js";

/** Where a cached step keeps its results. `get`/`set` may be sync or async; errors count as misses. */
export interface CacheBackend {
  get(key: string): StepResult | undefined | Promise<StepResult | undefined>;
  set(key: string, result: StepResult): void | Promise<void>;
}
