import type { Tracer } from "@opentelemetry/api";
import type { CacheBackend } from "../cache/backend.js";
import { mergeInto, unwrap } from "../context/index.js";
import type { PipelineContext } from "../domain/context.js";
import {
  CancelledError,
  ConfigurationError,
  errorMessage,
  type LoopPause,
  PausedException,
  PipelineAbortSignal,
  ResumeError,
  UsageLimitExceededError,
} from "../domain/errors.js";
import { PipelineResult, type RunStatus, type StepResult } from "../domain/results.js";
import type { Span } from "../domain/trace.js";
import {
  checkUsageLimits,
  Quota,
  type UsageEstimate,
  type UsageLimits,
  ZERO_USAGE,
} from "../domain/usage.js";
import { describe } from "../dsl/config.js";
import { HumanInTheLoopStep } from "../dsl/hitl.js";
import { Pipeline } from "../dsl/pipeline.js";
import { Step } from "../dsl/step.js";
import type { Schema } from "../dsl/types.js";
import { checkHitlNames, findStep, isHumanInTheLoopStep } from "../dsl/validate.js";
import { now } from "../executor/clock.js";
import { ExecutorCore } from "../executor/core.js";
import type { Frame, HitlAnswer } from "../executor/frame.js";
import { appendTurn, applyHumanInput, asText, parseHumanInput } from "../executor/policies/hitl.js";
import {
  AlertMonitor,
  type AlertPayload,
  type AlertResolvedPayload,
  type AlertRule,
  warnAlert,
} from "../observability/alerts.js";
import { preview } from "../observability/diagnostics.js";
import { Metrics } from "../observability/metrics.js";
import { type ObserverConfig, RunObserver } from "../observability/observer.js";
import { flujoTracer } from "../observability/otel.js";
import { toPlainSpan } from "../observability/span.js";
import type { StateBackend } from "../state/backend.js";
import { RunRecorder } from "../state/recorder.js";
import type { WorkflowState } from "../state/workflow.js";
import type { HookFunction } from "../telemetry/events.js";
import { HookDispatcher, type Logger, onlyPostRun } from "../telemetry/hooks.js";
import { ActiveRun, type Observed, type Resumption, type Start } from "./active-run.js";
import { type AsStepOptions, asStep } from "./compose.js";
import { buildRunContext } from "./context.js";
import { checkStoredRun, pipelineHash, resolveStateBackend } from "./durable.js";
import type { RunEvent, RunSink } from "./events.js";
import { RunGate } from "./gate.js";
import { eventStream } from "./stream.js";

export interface FlujoOptions {
  /** A Standard Schema (zod, ...) for the user's context fields, validated at run start and after updates. */
  contextSchema?: Schema;
  initialContextData?: Record<string, unknown>;
  resources?: unknown;
  usageLimits?: UsageLimits;
  hooks?: readonly HookFunction[];
  /** The executor cache (on by default, as in Flujo). */
  enableCache?: boolean;
  cache?: CacheBackend;
  pipelineName?: string;
  pipelineVersion?: string;
  logger?: Logger;
  /** Use this executor instead of a new one (shares its cache and policies). */
  executor?: ExecutorCore;
  /**
   * Where runs are persisted (SQLiteBackend, MemoryBackend, ...). Default: the backend named by
   * FLUJO_STATE_URI when it is set, else none. A run whose runId is already stored continues from it.
   */
  stateBackend?: StateBackend;
  /** False: never persist, even with FLUJO_STATE_URI set. Default true. */
  persistState?: boolean;
  /** Delete a run's state once it completes. Default false. */
  deleteOnCompletion?: boolean;
  /**
   * At most this many runs (run, stream and resume calls) execute at once; the others wait in arrival
   * order, holding nothing but their arguments. Default unlimited.
   */
  maxConcurrentRuns?: number;
  /**
   * The run's trace tree (`PipelineResult.traceTree`, saved through the state backend when there is one):
   * true, or options (OpenTelemetry export, inputs in spans). Default off (docs/observability.md says why).
   */
  tracing?: boolean | TracingOptions;
  /**
   * Latency histograms and counters per step and pipeline (`runner.metrics`): true for this runner's own,
   * or a Metrics shared by several runners. Default off; on when `alerts` are given.
   */
  metrics?: boolean | Metrics;
  /** Threshold rules; each breach sends one `alert` hook event, its end one `alert_resolved`. */
  alerts?: readonly AlertRule[];
  /** How often resource rules (event-loop delay, heap) are sampled while runs are in progress; default 1000 ms. */
  alertSampleIntervalMs?: number;
}

export interface TracingOptions {
  /**
   * Mirror every span to OpenTelemetry: true for `trace.getTracer("flujo")` of the registered provider,
   * or a Tracer. Default false: @opentelemetry/api is never called.
   */
  otel?: boolean | Tracer;
  /** Put a preview of each step's input in its span as `step_input` (default false; a failed step's preview is in its `metadata.diagnostics.inputPreview` either way). */
  captureInputs?: boolean;
}

export interface RunCallOptions {
  runId?: string;
  initialContextData?: Record<string, unknown>;
  /** Aborting it stops the run promptly: the result has status "failed". */
  signal?: AbortSignal;
}

/** Flujo's loop resume fields, cleared when a run resumes. */
const LOOP_FIELDS = [
  "loopIterationIndex",
  "loopStepIndex",
  "loopLastOutput",
  "loopResumeRequiresHitlOutput",
  "loopPausedStepName",
] as const;

/** The runner: executes a pipeline's top-level steps with hooks, budgets and the run lifecycle of Flujo. */
export class Flujo<In = unknown, Out = unknown> {
  readonly pipeline: Pipeline<In, Out>;
  readonly executor: ExecutorCore;
  readonly pipelineName: string;
  readonly pipelineVersion: string;
  readonly #options: FlujoOptions;
  readonly #hooks: HookDispatcher;
  readonly #state: StateBackend | undefined;
  readonly #gate: RunGate;
  readonly #metrics: Metrics | undefined;
  readonly #tracing: boolean;
  readonly #observe: ObserverConfig | undefined;
  readonly #alerts: AlertMonitor | undefined;
  readonly #logger: Logger;
  #hash: string | undefined;

  constructor(pipelineOrStep: Pipeline<In, Out> | Step<In, Out>, options: FlujoOptions = {}) {
    if (pipelineOrStep instanceof Step) pipelineOrStep = Pipeline.fromStep(pipelineOrStep);
    if (!(pipelineOrStep instanceof Pipeline)) {
      throw new ConfigurationError(`new Flujo() needs a Pipeline or a Step, got ${describe(pipelineOrStep)}`);
    }
    checkUsageLimits(options.usageLimits);
    const schema = options.contextSchema;
    if (schema !== undefined && typeof (schema as { "~standard"?: unknown })["~standard"] !== "object") {
      throw new ConfigurationError("Flujo: contextSchema must be a Standard Schema (zod, valibot, ...)");
    }
    checkHitlNames(pipelineOrStep);
    this.#gate = new RunGate(options.maxConcurrentRuns);
    this.pipeline = pipelineOrStep;
    this.#options = options;
    const logger = options.logger ?? console;
    this.executor =
      options.executor ??
      new ExecutorCore({ enableCache: options.enableCache, cache: options.cache, logger });
    this.#state = resolveStateBackend(options);
    this.pipelineName = options.pipelineName ?? "unnamed";
    this.pipelineVersion = options.pipelineVersion ?? "latest";
    this.#hooks = new HookDispatcher(
      [...pipelineOrStep.hooks, ...pipelineOrStep.onFinish.map(onlyPostRun), ...(options.hooks ?? [])],
      logger,
    );
    this.#logger = logger;
    const alerts = options.alerts ?? [];
    if (alerts.length > 0 && options.metrics === false)
      throw new ConfigurationError(
        "Flujo: alerts are judged on metrics; remove metrics: false or the alerts",
      );
    const metrics = options.metrics ?? alerts.length > 0;
    this.#metrics = metrics === true ? new Metrics() : metrics === false ? undefined : metrics;
    const tracing: TracingOptions | undefined =
      options.tracing === true ? {} : options.tracing === false ? undefined : options.tracing;
    this.#tracing = tracing !== undefined;
    const otel = tracing?.otel;
    this.#observe =
      tracing !== undefined || this.#metrics !== undefined
        ? {
            metrics: this.#metrics,
            otel: otel === undefined || otel === false ? undefined : flujoTracer(otel),
            captureInputs: tracing?.captureInputs ?? false,
            tree: tracing !== undefined,
          }
        : undefined;
    this.#alerts =
      alerts.length > 0
        ? new AlertMonitor(
            alerts,
            this.#metrics!,
            this.pipelineName,
            (payload) => this.#emitAlert(payload),
            options.alertSampleIntervalMs,
          )
        : undefined;
  }

  /** This runner's metrics (undefined unless `metrics` or `alerts` were given). */
  get metrics(): Metrics | undefined {
    return this.#metrics;
  }

  /** Alerts go to the hooks; with none that hears them, they are logged as warnings so a breach is never silent. */
  async #emitAlert(payload: AlertPayload | AlertResolvedPayload): Promise<void> {
    if (!this.#hooks.hearsAll) {
      warnAlert(this.#logger, payload);
      return;
    }
    try {
      await this.#hooks.dispatch(payload);
    } catch (err) {
      // An alert is not part of a run: nothing to abort or fail.
      this.#logger.error(`Error in an alert hook: ${errorMessage(err)}`);
    }
  }

  /** Runs the pipeline. Step failures give a result with success=false; usage-limit breaches throw. */
  run(input: In, options: RunCallOptions = {}): Promise<PipelineResult<PipelineContext>> {
    // The common case (a free slot, no state backend, a context built without waiting) returns
    // #execute's own promise: no async frame and no promise resolved with another (about 0.3 KB per
    // in-flight run). Anything else takes the general path.
    if (this.#state !== undefined || !this.#gate.tryEnter())
      return this.#runWaiting(input, options, undefined, undefined);
    let context: PipelineContext | Promise<PipelineContext>;
    try {
      context = this.#context(input, options);
    } catch (err) {
      this.#gate.leave();
      return Promise.reject(err);
    }
    if (context instanceof Promise) return this.#runWaiting(input, options, context, undefined);
    return this.#execute({ index: 0, data: input, context, history: [] }, options.signal, undefined);
  }

  /**
   * `run` (and `stream`, with its sink) that waits: for a slot (unless `pending` is given: it has one),
   * the context, the stored run.
   */
  async #runWaiting(
    input: In,
    options: RunCallOptions,
    pending: Promise<PipelineContext> | undefined,
    sink: RunSink | undefined,
  ): Promise<PipelineResult<PipelineContext>> {
    if (pending === undefined && !this.#gate.tryEnter()) await this.#gate.wait(options.signal);
    let start: Start;
    try {
      start = await this.#start(input, await (pending ?? this.#context(input, options)));
    } catch (err) {
      this.#gate.leave();
      throw err;
    }
    // Not awaited: this frame ends here instead of staying suspended for the whole run (about 0.4 KB
    // per in-flight run); #execute gives the slot back when it settles.
    return this.#execute(start, options.signal, sink);
  }

  /** Runs executing now, and runs waiting for a slot under `maxConcurrentRuns`. */
  get runs(): { active: number; queued: number } {
    return { active: this.#gate.active, queued: this.#gate.queued };
  }

  /** The state backend runs are persisted to, if any. */
  get stateBackend(): StateBackend | undefined {
    return this.#state;
  }

  /**
   * Where a run starts: at the beginning, or, when its runId is stored, where the stored run stopped,
   * with the stored context, history and last output (the steps it completed are never run again).
   */
  async #start(input: unknown, context: PipelineContext): Promise<Start> {
    const fresh: Start = { index: 0, data: input, context, history: [] };
    if (this.#state === undefined) return fresh;
    const stored = await this.#state.loadState(context.runId);
    if (stored === undefined) return { ...fresh, stored: "new" };
    checkStoredRun(stored, this.pipeline, this.pipelineVersion, this.#pipelineHash());
    const ctx = stored.pipelineContext as PipelineContext;
    ctx.status = "running";
    const index = stored.currentStepIndex;
    return {
      index,
      data: index > 0 ? stored.lastStepOutput : input,
      context: ctx,
      history: stored.stepHistory.slice(0, index),
      stored: { lastSeq: stored.steps.length === 0 ? 0 : stored.steps[stored.steps.length - 1].seq },
    };
  }

  #pipelineHash(): string {
    this.#hash ??= pipelineHash(this.pipeline);
    return this.#hash;
  }

  /** Streams step events (and chunks from the last step's streaming agent), then yields the PipelineResult. */
  stream(input: In, options: RunCallOptions = {}): AsyncIterable<RunEvent | PipelineResult<PipelineContext>> {
    return eventStream((sink) => this.#runWaiting(input, options, undefined, sink));
  }

  /**
   * Continues a paused run with the human's answer (flujo-behaviour.md §2.13). The answer is checked
   * against the paused HITL step's inputSchema first: a rejected answer throws HumanInputValidationError
   * and changes nothing, so the paused result can be resumed again. Then the answer is recorded
   * (hitlHistory, conversationHistory, commandLog, userInput). A top-level HITL step gets the answer as its
   * output (sinkTo, updatesContext, stepOutputs, post_step) and the run goes on with the next step; a step
   * that paused inside (a loop, a branch) is re-run with the answer as its input, and its HITL step takes
   * the answer. The paused result's context is continued in place; the returned result is a new one whose
   * history starts with the paused result's. pre_run does not fire again; post_run does.
   *
   * A paused result that went through JSON is accepted after `PipelineResult.fromJSON`. With a state
   * backend, the run id of a paused run is accepted too (from another process, after a restart).
   */
  async resume(
    pausedOrRunId: PipelineResult<PipelineContext> | string,
    humanInput: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<PipelineResult<PipelineContext>> {
    if (!this.#gate.tryEnter()) await this.#gate.wait(options.signal);
    let prepared: [Start, Resumption];
    try {
      prepared = await this.#prepareResume(pausedOrRunId, humanInput);
    } catch (err) {
      this.#gate.leave();
      throw err;
    }
    return this.#execute(prepared[0], options.signal, undefined, prepared[1]);
  }

  async #prepareResume(
    pausedOrRunId: PipelineResult<PipelineContext> | string,
    humanInput: unknown,
  ): Promise<[Start, Resumption]> {
    let stored: Start["stored"];
    let paused: PipelineResult<PipelineContext>;
    let trace: Span | undefined;
    if (typeof pausedOrRunId === "string") {
      const state = await this.#loadPaused(pausedOrRunId);
      if (this.#tracing) trace = (await this.#state?.getTrace(pausedOrRunId)) as Span | undefined;
      paused = new PipelineResult<PipelineContext>({
        stepHistory: state.stepHistory.slice(0, state.currentStepIndex),
        finalPipelineContext: state.pipelineContext as PipelineContext,
      });
      stored = { lastSeq: state.steps.length === 0 ? 0 : state.steps[state.steps.length - 1].seq };
    } else {
      paused = pausedOrRunId;
      trace = paused.traceTree;
    }
    const context = paused?.finalPipelineContext;
    if (context === undefined || context === null)
      throw new ResumeError("Cannot resume pipeline without context");
    if (context.status !== "paused") throw new ResumeError("Pipeline is not paused");
    const steps = this.pipeline.steps;
    const index = paused.stepHistory.length;
    if (index >= steps.length) throw new ResumeError("No steps remaining to resume");
    const step = steps[index];
    const hitlData = isRecord(context.hitlData) ? context.hitlData : {};
    const hitlName = typeof hitlData.lastHitlStep === "string" ? hitlData.lastHitlStep : undefined;
    const target =
      step instanceof HumanInTheLoopStep
        ? step
        : hitlName === undefined
          ? undefined
          : findStep(step, (s) => isHumanInTheLoopStep(s) && s.name === hitlName);
    // Validate before touching the context: a rejected answer leaves the paused result resumable.
    const answer = target === undefined ? humanInput : await parseHumanInput(target, humanInput);
    // Another resume of the same result may have started while the answer was being checked.
    if (context.status !== "paused") throw new ResumeError("Pipeline is not paused");
    const loops = loopPauses(hitlData.loopStack);
    const replay = hitlAnswers(hitlData.replay);
    recordAnswer(context, answer);
    const carried = { costUsd: 0, tokens: 0 };
    for (const entry of loops) {
      carried.costUsd += entry.costUsd;
      carried.tokens += entry.tokens;
    }
    const resumption: Resumption =
      step instanceof HumanInTheLoopStep
        ? { hitl: step, answer, cursor: undefined, carried, trace }
        : {
            hitl: undefined,
            answer,
            cursor: {
              pending: target !== undefined,
              hitlStep: target?.name,
              input: answer,
              loops,
              replay,
              consumed: [],
            },
            carried,
            trace,
          };
    return [{ index, data: answer, context, history: [...paused.stepHistory], stored }, resumption];
  }

  async #loadPaused(runId: string): Promise<WorkflowState> {
    if (this.#state === undefined)
      throw new ResumeError(`Cannot resume run '${runId}' by id: this runner has no stateBackend`);
    const state = await this.#state.loadState(runId);
    if (state === undefined) throw new ResumeError(`Run '${runId}' is not in the state backend`);
    checkStoredRun(state, this.pipeline, this.pipelineVersion, this.#pipelineHash());
    if (state.status !== "paused")
      throw new ResumeError(`Run '${runId}' is not paused (its status is ${state.status})`);
    return state;
  }

  /** The run's recorder: a new stored run, or the stored one this continues. */
  async #recorder(start: Start, result: PipelineResult): Promise<RunRecorder | undefined> {
    const state = this.#state;
    if (state === undefined) return undefined;
    let stored = start.stored;
    if (stored === undefined) {
      // A resume of an in-memory result: its run may be stored all the same.
      const row = await state.getRunDetails(start.context.runId);
      stored = row === undefined ? "new" : { lastSeq: row.lastSeq };
    }
    if (stored === "new") {
      return RunRecorder.start(state, start.context, {
        pipelineName: this.pipelineName,
        pipelineVersion: this.pipelineVersion,
        pipelineHash: this.#pipelineHash(),
        totalSteps: this.pipeline.steps.length,
      });
    }
    return RunRecorder.continue(state, start.context, stored.lastSeq, result, start.index);
  }

  /** This runner as one step of another pipeline (Flujo's `as_step`); see runner/compose.ts. */
  asStep(name: string, options: AsStepOptions = {}): Step<In, PipelineResult> {
    return asStep(this, name, options);
  }

  #context(input: unknown, options: RunCallOptions): PipelineContext | Promise<PipelineContext> {
    return buildRunContext(
      input,
      this.#options.initialContextData,
      options.initialContextData,
      options.runId,
      this.#options.contextSchema,
      "contextSchema",
    );
  }

  /**
   * Runs from `start` to the end. Every entry point took a slot of the gate: it is given back here.
   * Not an async function: the only frame suspended while a step runs is #drive's, which is small.
   */
  #execute(
    start: Start,
    signal: AbortSignal | undefined,
    sink: RunSink | undefined,
    resumption?: Resumption,
  ): Promise<PipelineResult<PipelineContext>> {
    let run: ActiveRun;
    try {
      run = this.#begin(start, signal, sink, resumption);
    } catch (err) {
      this.#gate.leave();
      return Promise.reject(err);
    }
    return this.#drive(
      run,
      this.#state !== undefined || !this.#hooks.empty || resumption?.hitl !== undefined,
    );
  }

  /**
   * The steps, one after the other, then the run's end. Hooks, failures and writes are in other
   * functions, kept off this frame: it is the one that stays suspended while a step runs.
   */
  async #drive(run: ActiveRun, opening: boolean): Promise<PipelineResult<PipelineContext>> {
    try {
      if (opening) await this.#open(run);
      const steps = this.pipeline.steps;
      for (let i = run.first; run.stopped === undefined && i < steps.length; i++) {
        const step = steps[i];
        run.at = i;
        if (run.signal?.aborted) throw new CancelledError("Run cancelled");
        if (!this.#hooks.empty) await this.#preStep(run, step);
        // Observed, this is observer.run with this await in place of its `.then`. The policy is looked
        // up once, for both; observed or not, the step is dispatched from this one call (V8 inlines it
        // here and optimises the policy on its own).
        const observer = run.observer;
        const policy = this.executor.registry.of(step);
        let frame = this.#stepFrame(run, step, i);
        if (observer !== undefined) frame = observer.open(frame, step, run.data, policy);
        let sr = await this.executor.dispatch(frame, step, run.data, policy);
        if (observer !== undefined) sr = observer.close(observer.scope, step, run.data, sr);
        const after = this.#afterStep(run, step, i, sr);
        if (after !== undefined) await after;
        if (!sr.success) run.stopped = "failed";
        else run.data = sr.output;
      }
    } catch (err) {
      const observer = run.observer;
      if (observer !== undefined) observer.thrown(observer.scope, err);
      return this.#ended(run, true, err);
    }
    return this.#ended(run, false, undefined);
  }

  /** The run's budget (less what its history and a resumed pause already spent), result and frame. */
  #begin(
    start: Start,
    signal: AbortSignal | undefined,
    sink: RunSink | undefined,
    resumption: Resumption | undefined,
  ): ActiveRun {
    const ctx = start.context;
    const quota = new Quota(this.#options.usageLimits);
    const result = new PipelineResult<PipelineContext>({
      finalPipelineContext: ctx,
      stepHistory: start.history,
    });
    for (const r of start.history)
      quota.reclaim({ costUsd: 0, tokens: 0 }, { costUsd: r.costUsd, tokens: r.tokenCounts });
    if (resumption !== undefined) quota.reclaim(ZERO_USAGE, resumption.carried);
    const observed = this.#startObserving(start, ctx, resumption);
    const frame = this.executor.frame({
      context: ctx,
      resources: this.#options.resources,
      quota,
      signal,
      contextSchema: this.#options.contextSchema,
      observer: observed.observer,
      scope: observed.observer?.scope,
    });
    return new ActiveRun(start, signal, sink, resumption, quota, result, frame, observed);
  }

  /** Before the first step: the stored record, pre_run, and a resumed top-level HITL step's answer. */
  async #open(run: ActiveRun): Promise<void> {
    const { ctx, start, resumption } = run;
    const hooks = this.#hooks;
    const resources = this.#options.resources;
    run.recorder = await this.#recorder(start, run.result);
    if (!hooks.empty && resumption === undefined) {
      await hooks.dispatch({
        eventName: "pre_run",
        initialInput: start.data,
        context: ctx,
        resources,
        runId: ctx.runId,
        pipelineName: this.pipelineName,
        pipelineVersion: this.pipelineVersion,
        initialBudgetCostUsd: this.#options.usageLimits?.totalCostUsdLimit,
        initialBudgetTokens: this.#options.usageLimits?.totalTokensLimit,
        isBackground: false,
      });
    }
    if (resumption?.hitl !== undefined) {
      // The answer is the paused HITL step's output; the run goes on after it.
      const step = resumption.hitl;
      const sr = await applyHumanInput(run.frame, step, resumption.answer);
      await this.#afterStepSlow(run, step, start.index, sr);
      if (!sr.success) run.stopped = "failed";
      run.first = start.index + 1;
    }
  }

  #preStep(run: ActiveRun, step: Step): Promise<void> {
    return this.#hooks.dispatch({
      eventName: "pre_step",
      step,
      stepInput: run.data,
      context: run.ctx,
      resources: this.#options.resources,
      attemptNumber: undefined,
      quotaBeforeUsd: run.quota.remainingCostUsd,
      quotaBeforeTokens: run.quota.remainingTokens,
      cacheHit: false,
      isBackground: false,
    });
  }

  /** The run's frame, or a copy with the stream's chunk sink (last step) or the resume cursor. */
  #stepFrame(run: ActiveRun, step: Step, i: number): Frame {
    return run.sink === undefined && run.cursor === undefined ? run.frame : this.#frameCopy(run, step, i);
  }

  #frameCopy(run: ActiveRun, step: Step, i: number): Frame {
    const sink = run.sink;
    let frame: Frame =
      sink !== undefined && i === this.pipeline.steps.length - 1
        ? { ...run.frame, onChunk: (chunk) => sink.chunk(step.name, chunk) }
        : run.frame;
    if (run.cursor !== undefined && i === run.start.index) frame = { ...frame, resume: run.cursor };
    return frame;
  }

  /** A step's result into the run: merged context, history, stored record, stream. */
  #afterStep(run: ActiveRun, step: Step, i: number, sr: StepResult): Promise<void> | undefined {
    // The common case inline (the runner's step loop inlines this), the rest in #settle.
    if (
      sr.success &&
      (sr.branchContext === undefined || sr.branchContext === run.ctx) &&
      this.#hooks.empty &&
      run.recorder === undefined &&
      run.sink === undefined
    ) {
      run.result.append(sr);
      return undefined;
    }
    return this.#settle(run, step, i, sr);
  }

  #settle(run: ActiveRun, step: Step, i: number, sr: StepResult): Promise<void> | undefined {
    const ctx = run.ctx;
    if (sr.branchContext !== undefined && sr.branchContext !== ctx) mergeInto(ctx, sr.branchContext);
    if (!sr.success || !this.#hooks.empty) return this.#afterStepSlow(run, step, i, sr);
    run.result.append(sr);
    if (run.recorder !== undefined) {
      const written = run.record(i, sr, i + 1);
      if (written instanceof Promise) return written.then(() => run.sink?.step(sr));
    }
    run.sink?.step(sr);
    return undefined;
  }

  /** The same with post_step or the failure handlers first. */
  async #afterStepSlow(run: ActiveRun, step: Step, i: number, sr: StepResult): Promise<void> {
    const resources = this.#options.resources;
    if (!sr.success) await this.#onFailure(step, sr, run.ctx, resources);
    else if (!this.#hooks.empty)
      await this.#hooks.dispatch({
        eventName: "post_step",
        stepResult: sr,
        context: run.ctx,
        resources,
        isBackground: false,
      });
    run.result.append(sr);
    if (run.recorder !== undefined) await run.record(i, sr, sr.success ? i + 1 : i);
    run.sink?.step(sr);
  }

  /** The run's end, with what it threw if it did (`err`): its status, post_run, the stored state; the slot back. */
  async #ended(run: ActiveRun, threw: boolean, err: unknown): Promise<PipelineResult<PipelineContext>> {
    try {
      const { ctx, result, recorder } = run;
      const resources = this.#options.resources;
      if (threw) {
        if (err instanceof UsageLimitExceededError) {
          for (const r of err.result?.stepHistory ?? []) {
            result.append(r);
            // Flujo counts the step that crossed the limit as done.
            await run.record(run.at, r, run.at + 1);
            run.sink?.step(r);
          }
          err.result = result;
          await this.#finish(result, ctx, resources, "failed", recorder, run.next, run);
          throw err;
        }
        if (err instanceof PausedException) {
          // Paused again inside the step this resume re-ran: its HITL answers are replayed next time.
          const cursor = run.cursor;
          const replay = cursor !== undefined && run.at === run.start.index ? cursor.consumed : [];
          const usage = recordPause(ctx, err, replay);
          result.totalCostUsd += usage.costUsd;
          result.totalTokens += usage.tokens;
          run.stopped = "paused";
        } else if (err instanceof PipelineAbortSignal) {
          ctx.pauseMessage = err.message;
          run.stopped = "paused";
        } else if (err instanceof CancelledError || (run.signal?.aborted && isAbortError(err))) {
          run.stopped = "failed";
        } else {
          await this.#endObserving(run, result, "failed")();
          if (recorder !== undefined) {
            ctx.status = "failed";
            await recorder.status("failed", run.next, result, errorMessage(err));
            recorder.stop();
          }
          throw err;
        }
      }
      const status: RunStatus =
        run.stopped ??
        (result.stepHistory.length >= this.pipeline.steps.length && result.stepHistory.every((r) => r.success)
          ? "completed"
          : "failed");
      await this.#finish(result, ctx, resources, status, recorder, run.next, run);
      return result;
    } finally {
      this.#gate.leave();
    }
  }

  /** Failure handlers first (their errors propagate, as in Flujo), then on_step_failure once. */
  async #onFailure(step: Step, sr: StepResult, ctx: PipelineContext, resources: unknown): Promise<void> {
    if (step.failureHandlers.length > 0) {
      for (const handler of step.failureHandlers) await handler();
      sr.metadata.failureHandlersRan = true;
    }
    if (!this.#hooks.empty) {
      await this.#hooks.dispatch({
        eventName: "on_step_failure",
        stepResult: sr,
        context: ctx,
        resources,
        isBackground: false,
      });
    }
  }

  /** post_run, then the final state (Flujo's order), then the state's deletion if asked for. */
  async #finish(
    result: PipelineResult<PipelineContext>,
    ctx: PipelineContext,
    resources: unknown,
    status: RunStatus,
    recorder: RunRecorder | undefined,
    next: number,
    observed: Observed,
  ): Promise<void> {
    ctx.status = status;
    result.success = status === "completed";
    const alerts = this.#endObserving(observed, result, status);
    try {
      if (!this.#hooks.empty) await this.#postRun(result, ctx, resources);
    } finally {
      if (recorder !== undefined) {
        recorder.stop();
        await recorder.status(status, next, result, undefined);
        if (this.#tracing && result.traceTree !== undefined)
          await this.#saveTrace(ctx.runId, result.traceTree);
        if (status === "completed" && this.#options.deleteOnCompletion === true)
          await this.#state?.deleteState(ctx.runId);
      }
      // After post_run: the run's own events come first.
      await alerts();
    }
  }

  /** The run's observer (tracing or metrics on), its root span, and the run counted as active. */
  #startObserving(start: Start, ctx: PipelineContext, resumption: Resumption | undefined): Observed {
    const config = this.#observe;
    if (config === undefined) return { observer: undefined, started: 0 };
    const limits = this.#options.usageLimits;
    const started = now();
    const observer = new RunObserver(
      config,
      {
        "flujo.input": preview(start.data),
        "flujo.run_id": ctx.runId,
        "flujo.pipeline.name": this.pipelineName,
        "flujo.pipeline.version": this.pipelineVersion,
        "flujo.budget.initial_cost_usd": limits?.totalCostUsdLimit,
        "flujo.budget.initial_tokens": limits?.totalTokensLimit,
      },
      resumption?.trace,
      started,
    );
    if (this.#metrics !== undefined) this.#metrics.activeRuns++;
    this.#alerts?.runStarted();
    return { observer, started };
  }

  /** Closes the run's trace and records it in the metrics; returns what checks the alert rules. */
  #endObserving(observed: Observed, result: PipelineResult, status: RunStatus): () => Promise<void> {
    const observer = observed.observer;
    if (observer === undefined) return noAlerts;
    const ended = now();
    const steps = result.stepHistory.length;
    const root = observer.finish(status, result.totalCostUsd, result.totalTokens, steps, ended);
    if (this.#tracing) result.traceTree = root;
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      metrics.activeRuns--;
      const ms = ended - observed.started;
      metrics.recordRun(this.pipelineName, ms, status, result.totalCostUsd, result.totalTokens);
    }
    observed.observer = undefined;
    const monitor = this.#alerts;
    return monitor === undefined ? noAlerts : () => monitor.runEnded(status, result.totalCostUsd);
  }

  /** A trace that cannot be saved is logged: the run's own state is already written. */
  async #saveTrace(runId: string, trace: Span): Promise<void> {
    try {
      await this.#state?.saveTrace(runId, toPlainSpan(trace));
    } catch (err) {
      this.#logger.warn(`Could not save the trace of run '${runId}': ${errorMessage(err)}`);
    }
  }

  async #postRun(
    result: PipelineResult<PipelineContext>,
    ctx: PipelineContext,
    resources: unknown,
  ): Promise<void> {
    try {
      await this.#hooks.dispatch({
        eventName: "post_run",
        pipelineResult: result,
        context: ctx,
        resources,
        isBackground: false,
      });
    } catch (err) {
      // Flujo logs and suppresses an abort raised after the run is over.
      if (!(err instanceof PipelineAbortSignal)) throw err;
      this.executor.logger.warn(`PipelineAbortSignal raised in post_run was ignored: ${errorMessage(err)}`);
    }
  }
}

const noAlerts = (): Promise<void> => Promise.resolve();

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A pause raised by a step: the context says where the run stopped, as Flujo's does (status, pauseMessage,
 * pausedStepInput, hitlData.lastHitlStep, and for a pause inside a loop loopIterationIndex,
 * loopStepIndex = index + 1, loopLastOutput, loopResumeRequiresHitlOutput, loopPausedStepName of the
 * innermost loop). hitlData.loopStack keeps every enclosing loop's position for resume, and
 * hitlData.replay the answers already given inside a re-run step that paused again. Set here from the
 * exception, so a pause inside an isolated branch context is recorded all the same. Returns the usage of
 * loop work done before the pause, which is in no StepResult yet.
 */
function recordPause(ctx: PipelineContext, err: PausedException, replay: HitlAnswer[]): UsageEstimate {
  ctx.status = "paused";
  ctx.pauseMessage = err.message;
  const hitlData: Record<string, unknown> = isRecord(ctx.hitlData) ? { ...ctx.hitlData } : {};
  if (err.stepName !== undefined) {
    hitlData.lastHitlStep = err.stepName;
    ctx.pausedStepInput = err.stepInput;
  }
  const usage = { costUsd: 0, tokens: 0 };
  if (err.loops.length > 0) {
    const loops = err.loops.map((e) => ({ ...e, lastOutput: unwrap(e.lastOutput) }));
    hitlData.loopStack = loops;
    const inner = loops[0];
    ctx.loopIterationIndex = inner.iteration;
    ctx.loopStepIndex = inner.stepIndex + 1;
    ctx.loopLastOutput = inner.lastOutput;
    ctx.loopResumeRequiresHitlOutput = true;
    ctx.loopPausedStepName = inner.stepName;
    for (const e of loops) {
      usage.costUsd += e.costUsd;
      usage.tokens += e.tokens;
    }
  }
  if (replay.length > 0) hitlData.replay = replay.map((a) => ({ step: a.step, answer: unwrap(a.answer) }));
  ctx.hitlData = hitlData;
  return usage;
}

/** The human's answer in the context's records; the pause markers are cleared. */
function recordAnswer(ctx: PipelineContext, answer: unknown): void {
  const message = typeof ctx.pauseMessage === "string" ? ctx.pauseMessage : "";
  const timestamp = new Date().toISOString();
  ctx.userInput = answer;
  ctx.hitlHistory = [
    ...(Array.isArray(ctx.hitlHistory) ? ctx.hitlHistory : []),
    { messageToHuman: message, humanResponse: answer, timestamp },
  ];
  appendTurn(ctx, "assistant", message);
  appendTurn(ctx, "user", asText(answer));
  const log = Array.isArray(ctx.commandLog) ? ctx.commandLog : [];
  ctx.commandLog = [
    ...log,
    {
      turn: log.length + 1,
      generatedCommand: { type: "ask_human", question: message },
      executionResult: answer,
      timestamp,
    },
  ];
  ctx.status = "running";
  ctx.pauseMessage = undefined;
  ctx.pausedStepInput = undefined;
  if (isRecord(ctx.hitlData)) {
    const { lastHitlStep: _step, loopStack: _loops, replay: _replay, ...rest } = ctx.hitlData;
    ctx.hitlData = rest;
  }
  for (const field of LOOP_FIELDS) if (Object.hasOwn(ctx, field)) ctx[field] = undefined;
}

/** The replayed answers saved in a paused context (plain data, possibly from JSON). */
function hitlAnswers(value: unknown): HitlAnswer[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((a): a is HitlAnswer => isRecord(a) && typeof a.step === "string")
    .map((a) => ({ ...a }));
}

/** The loop positions saved in a paused context (plain data, possibly from JSON); malformed entries are dropped. */
function loopPauses(value: unknown): LoopPause[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (e): e is LoopPause =>
        isRecord(e) &&
        typeof e.loop === "string" &&
        Number.isInteger(e.iteration) &&
        (e.iteration as number) >= 1 &&
        Number.isInteger(e.stepIndex) &&
        (e.stepIndex as number) >= 0 &&
        typeof e.stepName === "string" &&
        typeof e.costUsd === "number" &&
        typeof e.tokens === "number",
    )
    .map((e) => ({ ...e }));
}
