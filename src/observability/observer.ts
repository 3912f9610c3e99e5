import type { Tracer } from "@opentelemetry/api";
import { errorMessage, PausedException, PipelineAbortSignal } from "../domain/errors.js";
import type { RunStatus, StepResult } from "../domain/results.js";
import type { Span } from "../domain/trace.js";
import type { Step } from "../dsl/step.js";
import { now } from "../executor/clock.js";
import type { Frame, StepObserver } from "../executor/frame.js";
import { agentPolicy } from "../executor/policies/agent.js";
import type { Policy } from "../executor/registry.js";
import type { FailureDiagnostics } from "./diagnostics.js";
import { preview } from "./diagnostics.js";
import type { Metrics } from "./metrics.js";
import { endOtelSpan, otelEvent, startOtelSpan } from "./otel.js";
import {
  type AttributeValue,
  fromPlainSpan,
  Scoped,
  SPAN_ORIGIN,
  StepRecord,
  spanClock,
  TraceSpan,
} from "./span.js";

/** How a runner observes its runs (resolved once from FlujoOptions). */
export interface ObserverConfig {
  metrics: Metrics | undefined;
  /** OTel tracer the spans are mirrored to. */
  otel: Tracer | undefined;
  /** Put a preview of each step's input in its span (`step_input`); failed steps carry one in their diagnostics anyway. */
  captureInputs: boolean;
  /**
   * The tree is read (tracing is on). Without it, the spans that diagnostics and events need are made
   * all the same (complex steps, failures), but no record is kept of successful plain steps.
   */
  tree: boolean;
}

function finite(n: number): number | undefined {
  return Number.isFinite(n) ? n : undefined;
}

/** Quota keeps "no token limit" as the largest int32; the span says undefined, as Flujo's None. */
function tokensLeft(n: number): number | undefined {
  return n >= 2147483647 ? undefined : n;
}

/** The scope of a span's own children (no label: they run directly under it). */
function childScope(span: TraceSpan): Scoped {
  return new Scoped(span, undefined, undefined, undefined);
}

/**
 * One run's observer: builds the span tree (Flujo's attribute names), mirrors it to OpenTelemetry when
 * asked, records metrics after each step, and attaches diagnostics to failed steps. All of it happens
 * around steps and on failure paths; a policy never waits for it.
 */
export class RunObserver implements StepObserver {
  readonly root: TraceSpan;
  /** Where the run's top-level steps run: the frame's `scope` (a Scoped always, so no type test per step). */
  readonly scope: Scoped;
  readonly #config: ObserverConfig;
  readonly #metrics: Metrics | undefined;
  readonly #otel: Tracer | undefined;
  /** Every step's span is made as it starts (OTel mirrors it from then; the input is captured then). */
  readonly #eager: boolean;
  readonly #tree: boolean;

  /** `time` is the run's start (`performance.now()`), which its runner reads for the metrics too. */
  constructor(
    config: ObserverConfig,
    rootAttributes: Record<string, AttributeValue>,
    resumed: Span | undefined,
    time: number,
  ) {
    this.#config = config;
    this.#metrics = config.metrics;
    this.#otel = config.otel;
    this.#eager = config.otel !== undefined || config.captureInputs;
    this.#tree = config.tree;
    if (resumed === undefined) {
      this.root = new TraceSpan("pipeline_run", undefined, rootAttributes, SPAN_ORIGIN + time);
    } else {
      // A resumed run continues the paused run's tree.
      this.root = resumed instanceof TraceSpan ? resumed : fromPlainSpan(resumed);
      this.root.status = "running";
      this.root.endTime = undefined;
      this.root.addEvent("flujo.resumed", {});
    }
    this.scope = childScope(this.root);
    if (this.#otel !== undefined) {
      startOtelSpan(this.#otel, this.root);
      if (resumed !== undefined) otelEvent(this.root, "flujo.resumed", {});
    }
  }

  run(frame: Frame, step: Step, data: unknown): Promise<StepResult> {
    const scope = frame.scope as Scoped;
    const core = frame.core;
    const policy = core.registry.of(step);
    let running: Promise<StepResult>;
    try {
      running = core.dispatch(this.open(frame, step, data, policy), step, data, policy);
    } catch (err) {
      this.thrown(scope, err);
      throw err;
    }
    // `.then` rather than an async function: it keeps about 200 bytes per step fewer alive (the
    // suspended function's locals) and the step's promise chain one link shorter.
    return running.then(
      (result) => this.close(scope, step, data, result),
      (err: unknown) => {
        this.thrown(scope, err);
        throw err;
      },
    );
  }

  /**
   * Starts a step, run by `policy`, in its frame's scope; returns the frame to dispatch it in. The
   * caller dispatches it and gives the step's end to `close`, a throw (now or later) to `thrown`, both
   * with that scope. `run` is that; a caller that awaits the step anyway (the runner's loop over the
   * top-level steps) makes the calls itself and saves the promise and closures `run` adds.
   *
   * A complex step's span is made now, for its children. A plain step's start is the one its policy
   * reads and writes into the scope; its span is made only when something needs it (OTel, a budget or an
   * input to capture, an event, a failure), else its parent keeps a record of it.
   */
  open(frame: Frame, step: Step, data: unknown, policy: Policy): Frame {
    const scope = frame.scope as Scoped;
    const plain = policy === agentPolicy;
    scope.step = step;
    scope.plain = plain;
    scope.start = Number.NaN;
    if (this.#metrics !== undefined) this.#metrics.inFlightSteps++;
    // A plain step runs no children: it needs no frame of its own.
    if (plain && !this.#eager && !frame.quota.limited) return frame;
    return this.#opened(frame, scope, data);
  }

  /** The span of a step made as it starts, with what is captured then; a complex step's frame. */
  #opened(frame: Frame, scope: Scoped, data: unknown): Frame {
    scope.start = now();
    const span = this.#spanOf(scope);
    const quota = frame.quota;
    // Without limits both figures are undefined: runs without them do not read the budget.
    if (quota.limited) span.budgetBefore(finite(quota.remainingCostUsd), tokensLeft(quota.remainingTokens));
    if (this.#config.captureInputs) span.input = preview(data);
    if (this.#otel !== undefined) startOtelSpan(this.#otel, span);
    return scope.plain ? frame : { ...frame, scope: childScope(span) };
  }

  /** The span of the step running in `scope`, made on first need. */
  #spanOf(scope: Scoped): TraceSpan {
    let span = scope.current;
    if (span === undefined) {
      const step = scope.step as Step;
      // A step that failed before its policy started timing it starts now.
      if (Number.isNaN(scope.start)) scope.start = now();
      span = new TraceSpan(step.name, scope, undefined, SPAN_ORIGIN + scope.start, step.constructor);
      scope.span.addChild(span);
      scope.current = span;
    }
    return span;
  }

  /**
   * Ends the step running in `scope` with its result: its span or record, metrics, diagnostics of a
   * failure, the OTel mirror.
   */
  close(scope: Scoped, step: Step, data: unknown, result: StepResult): StepResult {
    // No span made: a plain step. A success that is no cache hit was timed by its policy from the
    // scope's start reading, so its span can be made later from the result.
    if (scope.current !== undefined || !result.success || result.metadata.cacheHit === true)
      return this.#closed(scope, step, data, result);
    scope.step = undefined;
    if (this.#tree) scope.span.addChild(new StepRecord(scope, step, scope.start, result));
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      metrics.inFlightSteps--;
      metrics.stepDone(step, result.latencyS * 1000, result);
    }
    return result;
  }

  /** `close` of a step whose span exists or is needed now. */
  #closed(scope: Scoped, step: Step, data: unknown, result: StepResult): StepResult {
    const span = this.#spanOf(scope);
    const start = span.startTime;
    // A plain step ends when its policy's timing does (from the start it wrote into the scope); a cache hit
    // replays a stored time, and a complex step's own children were timed: these end now.
    const end =
      scope.plain && result.metadata.cacheHit !== true
        ? SPAN_ORIGIN + scope.start + result.latencyS * 1000
        : spanClock();
    scope.step = undefined;
    scope.current = undefined;
    span.end(result, end);
    if (!result.success) this.#diagnose(span, result, data);
    if (span.otel !== undefined) endOtelSpan(span);
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      metrics.inFlightSteps--;
      metrics.stepDone(step, end - start, result);
    }
    return result;
  }

  /**
   * The step running in `scope` threw: a pause marks it paused, anything else failed (the error
   * propagates as before). Does nothing when no step is running there.
   */
  thrown(scope: Scoped, err: unknown): void {
    if (scope.step === undefined) return;
    if (this.#metrics !== undefined) this.#metrics.inFlightSteps--;
    const span = this.#spanOf(scope);
    scope.step = undefined;
    scope.current = undefined;
    span.endTime = spanClock();
    if (err instanceof PausedException || err instanceof PipelineAbortSignal) {
      span.status = "paused";
      span.addEvent("flujo.paused", { message: err.message });
      otelEvent(span, "flujo.paused", { message: err.message });
    } else {
      span.status = "failed";
      span.setAttribute("success", false);
      span.setAttribute("feedback", errorMessage(err));
    }
    if (span.otel !== undefined) endOtelSpan(span);
  }

  #diagnose(span: TraceSpan, result: StepResult, data: unknown): void {
    const diagnostics: FailureDiagnostics = {
      stepPath: span.path(),
      attempts: span.attemptLog ?? [{ attempt: result.attempts, feedback: result.feedback ?? "" }],
      inputPreview: preview(data),
      feedback: result.feedback,
    };
    result.metadata.diagnostics = diagnostics;
  }

  attemptFailed(frame: Frame, attempt: number, feedback: string, retrying: boolean): void {
    const scope = frame.scope as Scoped;
    if (scope.step === undefined) return;
    const span = this.#spanOf(scope);
    span.logAttempt(attempt, feedback);
    if (!retrying) return;
    const attributes = { attempt, feedback };
    span.addEvent("flujo.retry", attributes);
    otelEvent(span, "flujo.retry", attributes);
    if (this.#metrics !== undefined) this.#metrics.step(span.name).retries++;
  }

  fallback(frame: Frame, feedback: string): Frame {
    const scope = frame.scope as Scoped;
    if (scope.step === undefined) return frame;
    const span = this.#spanOf(scope);
    const attributes = { original_error: feedback };
    span.addEvent("flujo.fallback.triggered", attributes);
    otelEvent(span, "flujo.fallback.triggered", attributes);
    if (this.#metrics !== undefined) this.#metrics.step(span.name).fallbacks++;
    // The fallback's span nests under the step it stands in for.
    return { ...frame, scope: childScope(span) };
  }

  iteration(frame: Frame, iteration: number): Frame {
    const span = (frame.scope as Scoped).span;
    return { ...frame, scope: new Scoped(span, `loop[${iteration}]`, iteration, undefined) };
  }

  branch(frame: Frame, key: string): Frame {
    const span = (frame.scope as Scoped).span;
    return { ...frame, scope: new Scoped(span, `branch[${key}]`, undefined, key) };
  }

  queued(delta: number): void {
    if (this.#metrics !== undefined) this.#metrics.queuedBranches += delta;
  }

  /** Ends the root span with the run's outcome at `time` (`performance.now()`). */
  finish(
    status: RunStatus,
    totalCostUsd: number,
    totalTokens: number,
    steps: number,
    time: number,
  ): TraceSpan {
    const root = this.root;
    root.endTime = SPAN_ORIGIN + time;
    root.status = status === "running" ? "completed" : status;
    const a = root.attributes;
    a["flujo.total_cost_usd"] = totalCostUsd;
    a["flujo.total_tokens"] = totalTokens;
    a["flujo.steps"] = steps;
    if (status === "paused") {
      root.addEvent("flujo.paused", {});
      otelEvent(root, "flujo.paused", {});
    }
    if (root.otel !== undefined) endOtelSpan(root);
    return root;
  }
}
