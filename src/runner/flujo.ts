import type { CacheBackend } from "../cache/backend.js";
import { mergeInto } from "../context/index.js";
import type { PipelineContext } from "../domain/context.js";
import {
  CancelledError,
  ConfigurationError,
  errorMessage,
  PipelineAbortSignal,
  ResumeError,
  UsageLimitExceededError,
} from "../domain/errors.js";
import { PipelineResult, type RunStatus, type StepResult } from "../domain/results.js";
import { checkUsageLimits, Quota, type UsageLimits } from "../domain/usage.js";
import { describe } from "../dsl/config.js";
import { Pipeline } from "../dsl/pipeline.js";
import { Step } from "../dsl/step.js";
import type { Schema } from "../dsl/types.js";
import { ExecutorCore } from "../executor/core.js";
import type { Frame } from "../executor/frame.js";
import type { HookFunction } from "../telemetry/events.js";
import { HookDispatcher, type Logger, onlyPostRun } from "../telemetry/hooks.js";
import { buildRunContext } from "./context.js";
import type { RunEvent, RunSink } from "./events.js";
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
}

export interface RunCallOptions {
  runId?: string;
  initialContextData?: Record<string, unknown>;
  /** Aborting it stops the run promptly: the result has status "failed". */
  signal?: AbortSignal;
}

interface Start {
  index: number;
  data: unknown;
  context: PipelineContext;
  history: StepResult[];
}

/** The runner: executes a pipeline's top-level steps with hooks, budgets and the run lifecycle of Flujo. */
export class Flujo<In = unknown, Out = unknown> {
  readonly pipeline: Pipeline<In, Out>;
  readonly executor: ExecutorCore;
  readonly pipelineName: string;
  readonly pipelineVersion: string;
  readonly #options: FlujoOptions;
  readonly #hooks: HookDispatcher;

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
    this.pipeline = pipelineOrStep;
    this.#options = options;
    const logger = options.logger ?? console;
    this.executor =
      options.executor ??
      new ExecutorCore({ enableCache: options.enableCache, cache: options.cache, logger });
    this.pipelineName = options.pipelineName ?? "unnamed";
    this.pipelineVersion = options.pipelineVersion ?? "latest";
    this.#hooks = new HookDispatcher(
      [...pipelineOrStep.hooks, ...pipelineOrStep.onFinish.map(onlyPostRun), ...(options.hooks ?? [])],
      logger,
    );
  }

  /** Runs the pipeline. Step failures give a result with success=false; usage-limit breaches throw. */
  async run(input: In, options: RunCallOptions = {}): Promise<PipelineResult<PipelineContext>> {
    const context = await this.#context(input, options);
    return this.#execute({ index: 0, data: input, context, history: [] }, options.signal, undefined);
  }

  /** Streams step events (and chunks from the last step's streaming agent), then yields the PipelineResult. */
  stream(input: In, options: RunCallOptions = {}): AsyncIterable<RunEvent | PipelineResult<PipelineContext>> {
    return eventStream(async (sink) => {
      const context = await this.#context(input, options);
      return this.#execute({ index: 0, data: input, context, history: [] }, options.signal, sink);
    });
  }

  /**
   * Continues a paused run with the human's input: it is recorded in hitlHistory and becomes the input of
   * the step the run paused at.
   */
  async resume(
    paused: PipelineResult<PipelineContext>,
    humanInput: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<PipelineResult<PipelineContext>> {
    const context = paused?.finalPipelineContext;
    if (context === undefined || context === null)
      throw new ResumeError("Cannot resume pipeline without context");
    if (context.status !== "paused") throw new ResumeError("Pipeline is not paused");
    const index = paused.stepHistory.length;
    if (index >= this.pipeline.steps.length) throw new ResumeError("No steps remaining to resume");
    context.userInput = humanInput;
    context.hitlHistory = [
      ...(context.hitlHistory ?? []),
      {
        messageToHuman: String(context.pauseMessage ?? ""),
        humanResponse: humanInput,
        timestamp: new Date().toISOString(),
      },
    ];
    context.status = "running";
    context.pauseMessage = undefined;
    return this.#execute(
      { index, data: humanInput, context, history: [...paused.stepHistory] },
      options.signal,
      undefined,
    );
  }

  #context(input: unknown, options: RunCallOptions): Promise<PipelineContext> {
    return buildRunContext(
      input,
      this.#options.initialContextData,
      options.initialContextData,
      options.runId,
      this.#options.contextSchema,
      "contextSchema",
    );
  }

  async #execute(
    start: Start,
    signal: AbortSignal | undefined,
    sink: RunSink | undefined,
  ): Promise<PipelineResult<PipelineContext>> {
    const ctx = start.context;
    const hooks = this.#hooks;
    const resources = this.#options.resources;
    const quota = new Quota(this.#options.usageLimits);
    const result = new PipelineResult<PipelineContext>({
      finalPipelineContext: ctx,
      stepHistory: start.history,
    });
    for (const r of start.history)
      quota.reclaim({ costUsd: 0, tokens: 0 }, { costUsd: r.costUsd, tokens: r.tokenCounts });
    const frame = this.executor.frame({
      context: ctx,
      resources,
      quota,
      signal,
      contextSchema: this.#options.contextSchema,
    });
    const steps = this.pipeline.steps;
    let stopped: RunStatus | undefined;
    try {
      if (!hooks.empty) {
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
      let data = start.data;
      for (let i = start.index; i < steps.length; i++) {
        const step = steps[i];
        if (signal?.aborted) throw new CancelledError("Run cancelled");
        if (!hooks.empty) {
          await hooks.dispatch({
            eventName: "pre_step",
            step,
            stepInput: data,
            context: ctx,
            resources,
            attemptNumber: undefined,
            quotaBeforeUsd: quota.remainingCostUsd,
            quotaBeforeTokens: quota.remainingTokens,
            cacheHit: false,
            isBackground: false,
          });
        }
        const stepFrame: Frame =
          sink !== undefined && i === steps.length - 1
            ? { ...frame, onChunk: (chunk) => sink.chunk(step.name, chunk) }
            : frame;
        const sr = await this.executor.run(stepFrame, step, data);
        if (sr.branchContext !== undefined && sr.branchContext !== ctx) mergeInto(ctx, sr.branchContext);
        if (sr.success) {
          if (!hooks.empty)
            await hooks.dispatch({
              eventName: "post_step",
              stepResult: sr,
              context: ctx,
              resources,
              isBackground: false,
            });
        } else {
          await this.#onFailure(step, sr, ctx, resources);
        }
        result.append(sr);
        sink?.step(sr);
        if (!sr.success) {
          stopped = "failed";
          break;
        }
        data = sr.output;
      }
    } catch (err) {
      if (err instanceof UsageLimitExceededError) {
        for (const r of err.result?.stepHistory ?? []) {
          result.append(r);
          sink?.step(r);
        }
        err.result = result;
        await this.#finish(result, ctx, resources, "failed");
        throw err;
      }
      if (err instanceof PipelineAbortSignal) {
        ctx.pauseMessage = err.message;
        stopped = "paused";
      } else if (err instanceof CancelledError || (signal?.aborted && isAbortError(err))) {
        stopped = "failed";
      } else {
        throw err;
      }
    }
    const status: RunStatus =
      stopped ??
      (result.stepHistory.length >= steps.length && result.stepHistory.every((r) => r.success)
        ? "completed"
        : "failed");
    await this.#finish(result, ctx, resources, status);
    return result;
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

  async #finish(
    result: PipelineResult<PipelineContext>,
    ctx: PipelineContext,
    resources: unknown,
    status: RunStatus,
  ): Promise<void> {
    ctx.status = status;
    result.success = status === "completed";
    if (this.#hooks.empty) return;
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

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}
