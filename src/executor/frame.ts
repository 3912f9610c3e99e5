import type { Quota } from "../domain/usage.js";
import type { Schema } from "../dsl/types.js";
import type { ExecutorCore } from "./core.js";

export type Ctx = Record<string, unknown>;

/** Everything a policy needs to run one step. Frames are small and copied (spread) when a field changes. */
export interface Frame {
  readonly core: ExecutorCore;
  /** The live context. Policies isolate it for the step and merge the step's changes back on success. */
  readonly context: Ctx;
  readonly resources: unknown;
  readonly quota: Quota;
  readonly signal: AbortSignal;
  /** True when `signal` can actually fire (a user signal was given), so calls race against it. */
  readonly cancellable: boolean;
  readonly contextSchema: Schema | undefined;
  readonly cacheEnabled: boolean;
  /** Names of the steps whose fallbacks led here; guards against fallback cycles. */
  readonly fallbackChain: readonly string[];
  readonly inLoop: boolean;
  /** Receives streamed chunks of the step's agent (runner.stream on the last step). */
  readonly onChunk: ((chunk: unknown) => void) | undefined;
}
