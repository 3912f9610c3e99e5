import type { LoopPause } from "../domain/errors.js";
import type { StepResult } from "../domain/results.js";
import type { Quota } from "../domain/usage.js";
import type { Step } from "../dsl/step.js";
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
  /**
   * Set by the runner when tracing or metrics are on (src/observability). Undefined otherwise, and then
   * the executor does nothing for observability but read this field once per step.
   */
  readonly observer: StepObserver | undefined;
  /**
   * The observer's handle of the enclosing step (the parent of the steps this frame runs), set with
   * `observer`. The executor only writes a plain step's start into it (clock.ts).
   */
  readonly scope: StepScope | undefined;
}

/** Where in a trace the frame's steps run (observability/span.ts `Scoped`), as the executor sees it. */
export interface StepScope {
  /** The `performance.now()` at which the plain step running here started timing itself. */
  start: number;
}

/**
 * Sees every step the executor runs, nested ones included. Calls happen around a step and on its failure
 * paths only (a failed attempt, a fallback): nothing is called on a successful step's path but `run`
 * (a plain step's start is written into the frame's `scope`).
 */
export interface StepObserver {
  /** Runs `step` through `frame.core.dispatch` (complex steps with a child frame whose `scope` is theirs). */
  run(frame: Frame, step: Step, data: unknown): Promise<StepResult>;
  /** An attempt of the frame's step failed; `retrying` when another attempt follows. */
  attemptFailed(frame: Frame, attempt: number, feedback: string, retrying: boolean): void;
  /** The frame's step failed and its fallback is about to run in the frame this returns. */
  fallback(frame: Frame, feedback: string): Frame;
  /** The frame in which the steps of iteration `iteration` of the frame's loop run. */
  iteration(frame: Frame, iteration: number): Frame;
  /** The frame in which the steps of branch `key` of the frame's parallel or conditional step run. */
  branch(frame: Frame, key: string): Frame;
  /** Parallel branches waiting for a slot (concurrencyLimit) changed by `delta`. */
  queued(delta: number): void;
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
