import type { Tracer } from "@opentelemetry/api";
import { errorMessage, PausedException, PipelineAbortSignal } from "../domain/errors.js";
import type { RunStatus, StepResult } from "../domain/results.js";
import type { Span } from "../domain/trace.js";
import type { Step } from "../dsl/step.js";
import { readAndHand, takeBack } from "../executor/clock.js";
import type { Frame, StepObserver } from "../executor/frame.js";
import { agentPolicy } from "../executor/policies/agent.js";
import type { FailureDiagnostics } from "./diagnostics.js";
import { preview } from "./diagnostics.js";
import type { Metrics } from "./metrics.js";
import { endOtelSpan, otelEvent, startOtelSpan } from "./otel.js";
import { type AttributeValue, fromPlainSpan, Scoped, SPAN_ORIGIN, spanClock, TraceSpan } from "./span.js";

/** How a runner observes its runs (resolved once from FlujoOptions). */
export interface ObserverConfig {
  metrics: Metrics | undefined;
  /** OTel tracer the spans are mirrored to. */
  otel: Tracer | undefined;
  /** Put a preview of each step's input in its span (`step_input`); failed steps carry one in their diagnostics anyway. */
  captureInputs: boolean;
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

  constructor(config: ObserverConfig, rootAttributes: Record<string, AttributeValue>, resumed?: Span) {
    this.#config = config;
    this.#metrics = config.metrics;
    this.#otel = config.otel;
    if (resumed === undefined) {
      this.root = new TraceSpan("pipeline_run", undefined, rootAttributes, spanClock());
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
    const span = this.open(frame, step, data);
    let running: Promise<StepResult>;
    try {
      running = this.launch(frame, step, data, span);
    } catch (err) {
      this.thrown(span, err);
      throw err;
    }
    // `.then` rather than an async function: it keeps about 200 bytes per step fewer alive (the
    // suspended function's locals) and the step's promise chain one link shorter.
    return running.then(
      (result) => this.close(span, step, data, result),
      (err: unknown) => {
        this.thrown(span, err);
        throw err;
      },
    );
  }

  /**
   * A step's span, opened as the step starts. `run` is open, launch, close; a caller that awaits the
   * step anyway (the runner's loop over the top-level steps) makes the three calls itself and saves
   * the promise and closures `run` adds.
   */
  open(frame: Frame, step: Step, data: unknown): TraceSpan {
    const scope = frame.scope as Scoped;
    // Span time; the reading itself goes to the step's policy (executor/clock.ts).
    const start = SPAN_ORIGIN + readAndHand();
    const span = new TraceSpan(step.name, scope, undefined, start, step.constructor);
    const quota = frame.quota;
    // Without limits both figures are undefined: runs without them do not read the budget.
    if (quota.limited) span.budgetBefore(finite(quota.remainingCostUsd), tokensLeft(quota.remainingTokens));
    if (this.#config.captureInputs) span.input = preview(data);
    scope.span.addChild(span);
    if (this.#otel !== undefined) startOtelSpan(this.#otel, span);
    if (this.#metrics !== undefined) this.#metrics.inFlightSteps++;
    return span;
  }

  /** Dispatches the step of `span` (opened in `frame`). A throw, now or later, goes to `thrown`. */
  launch(frame: Frame, step: Step, data: unknown, span: TraceSpan): Promise<StepResult> {
    const core = frame.core;
    const policy = core.registry.of(step);
    try {
      if (policy !== agentPolicy)
        return core.dispatch({ ...frame, scope: childScope(span) }, step, data, policy);
      // A plain step runs no children: it needs no frame of its own. Its failure paths find its span as
      // the scope's current step (the steps of one scope run one after the other).
      span.plain = true;
      (frame.scope as Scoped).current = span;
      return core.dispatch(frame, step, data, policy);
    } finally {
      takeBack();
    }
  }

  /** Closes a step's span with its result: metrics, diagnostics of a failure, the OTel mirror. */
  close(span: TraceSpan, step: Step, data: unknown, result: StepResult): StepResult {
    const start = span.startTime;
    // A plain step's policy timed itself from the span's own start reading (a cache hit replays a stored time).
    const end =
      span.plain && result.metadata.cacheHit !== true ? start + result.latencyS * 1000 : spanClock();
    span.end(result, end);
    if (!result.success) this.#diagnose(span, result, data);
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      metrics.inFlightSteps--;
      metrics.record(metrics.stepOf(step), end - start, result);
    }
    if (span.otel !== undefined) endOtelSpan(span);
    return result;
  }

  /** A step that threw: a pause marks it paused, anything else failed (the error propagates as before). */
  thrown(span: TraceSpan, err: unknown): void {
    if (this.#metrics !== undefined) this.#metrics.inFlightSteps--;
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
    const span = (frame.scope as Scoped).current;
    if (span === undefined) return;
    span.logAttempt(attempt, feedback);
    if (!retrying) return;
    const attributes = { attempt, feedback };
    span.addEvent("flujo.retry", attributes);
    otelEvent(span, "flujo.retry", attributes);
    if (this.#metrics !== undefined) this.#metrics.step(span.name).retries++;
  }

  fallback(frame: Frame, feedback: string): Frame {
    const span = (frame.scope as Scoped).current;
    if (span === undefined) return frame;
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

  /** Ends the root span with the run's outcome. */
  finish(status: RunStatus, totalCostUsd: number, totalTokens: number, steps: number): TraceSpan {
    const root = this.root;
    root.endTime = spanClock();
    root.status = status === "running" ? "completed" : status;
    root.setAttribute("flujo.total_cost_usd", totalCostUsd);
    root.setAttribute("flujo.total_tokens", totalTokens);
    root.setAttribute("flujo.steps", steps);
    if (status === "paused") {
      root.addEvent("flujo.paused", {});
      otelEvent(root, "flujo.paused", {});
    }
    if (root.otel !== undefined) endOtelSpan(root);
    return root;
  }
}
