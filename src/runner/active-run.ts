import type { PipelineContext } from "../domain/context.js";
import type { PipelineResult, RunStatus, StepResult } from "../domain/results.js";
import type { Span } from "../domain/trace.js";
import type { Quota, UsageEstimate } from "../domain/usage.js";
import type { HumanInTheLoopStep } from "../dsl/hitl.js";
import type { Frame, ResumeCursor } from "../executor/frame.js";
import type { RunObserver } from "../observability/observer.js";
import type { Awaitable } from "../state/backend.js";
import type { RunRecorder } from "../state/recorder.js";
import type { RunSink } from "./events.js";

/** Where a run starts: the step index, its input, the context and the history before it. */
export interface Start {
  index: number;
  data: unknown;
  context: PipelineContext;
  history: StepResult[];
  /** The run's stored record: its last step row, "new" when it is known not to be stored yet. */
  stored?: { lastSeq: number } | "new";
}

/** How a resumed run starts (runner.resume). */
export interface Resumption {
  /** The top-level HITL step the run paused at; the answer is its output and the run goes on after it. */
  hitl: HumanInTheLoopStep | undefined;
  answer: unknown;
  /** For a step that paused inside (a loop, a branch): re-run with this on its frame. */
  cursor: ResumeCursor | undefined;
  /** Usage of loop iterations done before the pause (not in the history), charged to the budget again. */
  carried: UsageEstimate;
  /** The paused run's trace tree, continued by the resumed run. */
  trace: Span | undefined;
}

/** A run's observability: its observer and when it started. */
export interface Observed {
  observer: RunObserver | undefined;
  started: number;
}

/**
 * One run in progress: everything the runner's step loop reads and writes. It is one object with its
 * fields in place, so a run parked in a step holds this and a small suspended loop, instead of a large
 * suspended function's register file and the closure contexts of its locals.
 */
export class ActiveRun implements Observed {
  /** Set when the run stops early: paused, or failed. */
  stopped: RunStatus | undefined = undefined;
  /** The index of the step running now (-1 before the first). */
  at = -1;
  /** The index of the next step to run: where a stored run continues. */
  next: number;
  /** The index the step loop starts at (after a resumed HITL step). */
  first: number;
  /** The input of the next step. */
  data: unknown;
  recorder: RunRecorder | undefined = undefined;
  readonly ctx: PipelineContext;
  readonly cursor: ResumeCursor | undefined;
  observer: RunObserver | undefined;
  started: number;

  constructor(
    readonly start: Start,
    readonly signal: AbortSignal | undefined,
    readonly sink: RunSink | undefined,
    readonly resumption: Resumption | undefined,
    readonly quota: Quota,
    readonly result: PipelineResult<PipelineContext>,
    readonly frame: Frame,
    observed: Observed,
  ) {
    // Copied, not kept: one object per run fewer.
    this.observer = observed.observer;
    this.started = observed.started;
    this.ctx = start.context;
    this.cursor = resumption?.cursor;
    this.next = start.index;
    this.first = start.index;
    this.data = start.data;
  }

  /** Records a step's result in the state backend (when there is one); `nextIndex` is where to continue. */
  record(stepIndex: number, sr: StepResult, nextIndex: number): Awaitable<void> {
    this.next = nextIndex;
    return this.recorder?.step(stepIndex, this.result.stepHistory.length - 1, sr);
  }
}
