import type { Tracer } from "@opentelemetry/api";
import { errorMessage, PausedException, PipelineAbortSignal } from "../domain/errors.js";
import type { RunStatus, StepResult } from "../domain/results.js";
import type { Span } from "../domain/trace.js";
import type { Step } from "../dsl/step.js";
import type { Frame, StepObserver } from "../executor/frame.js";
import type { FailureDiagnostics } from "./diagnostics.js";
import { preview } from "./diagnostics.js";
import type { Metrics } from "./metrics.js";
import { endOtelSpan, otelEvent, startOtelSpan } from "./otel.js";
import { type AttributeValue, fromPlainSpan, TraceSpan } from "./span.js";

/** How a runner observes its runs (resolved once from FlujoOptions). */
export interface ObserverConfig {
  metrics: Metrics | undefined;
  /** OTel tracer the spans are mirrored to. */
  otel: Tracer | undefined;
  /** Put a preview of each step's input in its span (`step_input`); failures always get one. */
  captureInputs: boolean;
}

/** Where in a parent step its children run: an iteration of a loop or a branch. */
class Scoped {
  constructor(
    readonly span: TraceSpan,
    readonly label: string,
    readonly iteration: number | undefined,
    readonly branch: string | undefined,
  ) {}
}

function finite(n: number): number | undefined {
  return Number.isFinite(n) ? n : undefined;
}

/** Quota keeps "no token limit" as the largest int32; the span says undefined, as Flujo's None. */
function tokensLeft(n: number): number | undefined {
  return n >= 2147483647 ? undefined : n;
}

/**
 * One run's observer: builds the span tree (Flujo's attribute names), mirrors it to OpenTelemetry when
 * asked, records metrics after each step, and attaches diagnostics to failed steps. All of it happens
 * around steps and on failure paths; a policy never waits for it.
 */
export class RunObserver implements StepObserver {
  readonly root: TraceSpan;
  readonly #config: ObserverConfig;
  readonly #metrics: Metrics | undefined;
  readonly #otel: Tracer | undefined;

  constructor(config: ObserverConfig, rootAttributes: Record<string, AttributeValue>, resumed?: Span) {
    this.#config = config;
    this.#metrics = config.metrics;
    this.#otel = config.otel;
    if (resumed === undefined) {
      this.root = new TraceSpan("pipeline_run", undefined, undefined, rootAttributes, performance.now());
    } else {
      // A resumed run continues the paused run's tree.
      this.root = resumed instanceof TraceSpan ? resumed : fromPlainSpan(resumed);
      this.root.status = "running";
      this.root.endTime = undefined;
      this.root.addEvent("flujo.resumed", {});
    }
    if (this.#otel !== undefined) {
      startOtelSpan(this.#otel, this.root);
      if (resumed !== undefined) otelEvent(this.root, "flujo.resumed", {});
    }
  }

  async run(frame: Frame, step: Step, data: unknown): Promise<StepResult> {
    const scope = frame.scope;
    const parentScope = scope instanceof Scoped ? scope : undefined;
    const parent = parentScope === undefined ? (scope as TraceSpan) : parentScope.span;
    const span = new TraceSpan(
      step.name,
      parent,
      parentScope?.label,
      {
        "flujo.step.type": step.constructor.name,
        "flujo.attempt_number": undefined,
        "flujo.budget.quota_before_usd": finite(frame.quota.remainingCostUsd),
        "flujo.budget.quota_before_tokens": tokensLeft(frame.quota.remainingTokens),
        "flujo.cache.hit": false,
        "flujo.loop.iteration": parentScope?.iteration,
        "flujo.branch": parentScope?.branch,
        step_input: this.#config.captureInputs ? preview(data) : undefined,
        success: undefined,
        latency_s: undefined,
        "flujo.budget.actual_cost_usd": undefined,
        "flujo.budget.actual_tokens": undefined,
        feedback: undefined,
      },
      performance.now(),
    );
    parent.children.push(span);
    if (this.#otel !== undefined) startOtelSpan(this.#otel, span);
    const metrics = this.#metrics;
    if (metrics !== undefined) metrics.inFlightSteps++;
    let result: StepResult;
    try {
      result = await frame.core.dispatch({ ...frame, scope: span }, step, data);
    } catch (err) {
      if (metrics !== undefined) metrics.inFlightSteps--;
      this.#thrown(span, err);
      throw err;
    }
    const end = performance.now();
    span.endTime = end;
    const a = span.attributes;
    a.success = result.success;
    a.latency_s = result.latencyS;
    a["flujo.attempt_number"] = result.attempts;
    a["flujo.cache.hit"] = result.metadata.cacheHit === true;
    a["flujo.budget.actual_cost_usd"] = result.costUsd;
    a["flujo.budget.actual_tokens"] = result.tokenCounts;
    if (result.success) {
      span.status = "completed";
    } else {
      span.status = "failed";
      a.feedback = result.feedback;
      this.#diagnose(span, result, data);
    }
    if (metrics !== undefined) {
      metrics.inFlightSteps--;
      metrics.recordStep(step.name, end - span.startTime, result);
    }
    if (span.otel !== undefined) endOtelSpan(span);
    return result;
  }

  /** A step that threw: a pause marks it paused, anything else failed (the error propagates as before). */
  #thrown(span: TraceSpan, err: unknown): void {
    span.endTime = performance.now();
    if (err instanceof PausedException || err instanceof PipelineAbortSignal) {
      span.status = "paused";
      span.addEvent("flujo.paused", { message: err.message });
      otelEvent(span, "flujo.paused", { message: err.message });
    } else {
      span.status = "failed";
      span.attributes.success = false;
      span.attributes.feedback = errorMessage(err);
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
    const span = frame.scope as TraceSpan;
    span.logAttempt(attempt, feedback);
    if (!retrying) return;
    const attributes = { attempt, feedback };
    span.addEvent("flujo.retry", attributes);
    otelEvent(span, "flujo.retry", attributes);
    if (this.#metrics !== undefined) this.#metrics.step(span.name).retries++;
  }

  fallback(frame: Frame, feedback: string): void {
    const span = frame.scope as TraceSpan;
    const attributes = { original_error: feedback };
    span.addEvent("flujo.fallback.triggered", attributes);
    otelEvent(span, "flujo.fallback.triggered", attributes);
    if (this.#metrics !== undefined) this.#metrics.step(span.name).fallbacks++;
  }

  iteration(frame: Frame, iteration: number): Frame {
    const span = frame.scope as TraceSpan;
    return { ...frame, scope: new Scoped(span, `loop[${iteration}]`, iteration, undefined) };
  }

  branch(frame: Frame, key: string): Frame {
    const scope = frame.scope;
    const span = scope instanceof Scoped ? scope.span : (scope as TraceSpan);
    return { ...frame, scope: new Scoped(span, `branch[${key}]`, undefined, key) };
  }

  /** Ends the root span with the run's outcome. */
  finish(status: RunStatus, totalCostUsd: number, totalTokens: number, steps: number): TraceSpan {
    const root = this.root;
    root.endTime = performance.now();
    root.status = status === "running" ? "completed" : status;
    root.attributes["flujo.total_cost_usd"] = totalCostUsd;
    root.attributes["flujo.total_tokens"] = totalTokens;
    root.attributes["flujo.steps"] = steps;
    if (status === "paused") {
      root.addEvent("flujo.paused", {});
      otelEvent(root, "flujo.paused", {});
    }
    if (root.otel !== undefined) endOtelSpan(root);
    return root;
  }
}
