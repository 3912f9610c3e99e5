import type { LoopPause } from "../domain/errors.js";
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
  /**
   * Set by `runner.resume` on the frame of a top-level step that paused inside (a loop, a branch): it
   * carries the human input to the HITL step that paused and the loops' positions. Policies that build
   * child frames by spreading this one pass it on; it is consumed as the paused steps re-enter.
   */
  readonly resume?: ResumeCursor | undefined;
}

/** A HITL step's answer, by step name. */
export interface HitlAnswer {
  step: string;
  answer: unknown;
}

/** What a resumed run hands down to the step that paused; mutable, consumed as the run goes. */
export interface ResumeCursor {
  /** True until the HITL step named `hitlStep` takes `input` as its answer. */
  pending: boolean;
  readonly hitlStep: string | undefined;
  /** The human input, already validated against that step's inputSchema. */
  readonly input: unknown;
  /** Where the enclosing loops stopped, innermost first; each loop takes the last entry as it re-enters. */
  readonly loops: LoopPause[];
  /**
   * Answers given earlier to HITL steps that run again because their step is re-run from its start (a
   * branch), in the order they were taken; a loop that re-enters where it stopped clears them.
   */
  readonly replay: HitlAnswer[];
  /** The answers taken during this run, in order: the replay of the next resume if the step pauses again. */
  readonly consumed: HitlAnswer[];
}
