import type { CacheBackend } from "../cache/backend.js";
import { cacheKey } from "../cache/key.js";
import { InMemoryCache } from "../cache/memory.js";
import { defaultPipelineContext } from "../domain/context.js";
import { ConfigurationError } from "../domain/errors.js";
import type { StepResult } from "../domain/results.js";
import { checkUsageLimits, Quota, type UsageLimits } from "../domain/usage.js";
import { ConditionalStep } from "../dsl/conditional.js";
import { HumanInTheLoopStep } from "../dsl/hitl.js";
import { LoopStep } from "../dsl/loop.js";
import { MapStep } from "../dsl/map.js";
import { ParallelStep } from "../dsl/parallel.js";
import { DynamicParallelRouterStep } from "../dsl/router.js";
import { StateMachineStep } from "../dsl/stateMachine.js";
import { CacheStep, Step } from "../dsl/step.js";
import type { Schema } from "../dsl/types.js";
import { NotEncodableError } from "../native/index.js";
import type { Logger } from "../telemetry/hooks.js";
import { NEVER_ABORTED } from "./call.js";
import { now } from "./clock.js";
import type { Ctx, Frame, StepObserver, StepScope } from "./frame.js";
import { agentPolicy } from "./policies/agent.js";
import { cachedExecution, cachePolicy } from "./policies/cache.js";
import { conditionalPolicy } from "./policies/conditional.js";
import { wroteContext } from "./policies/effects.js";
import { hitlPolicy } from "./policies/hitl.js";
import { loopPolicy } from "./policies/loop.js";
import { mapPolicy } from "./policies/map.js";
import { parallelPolicy } from "./policies/parallel.js";
import { routerPolicy } from "./policies/router.js";
import { stateMachinePolicy } from "./policies/stateMachine.js";
import { type Policy, PolicyRegistry, type StepClass } from "./registry.js";

/** The executor cache keeps only results it can replay: not those of steps that wrote to the context. */
const canStore = (result: StepResult): boolean => !wroteContext.has(result);

export interface ExecutorCoreOptions {
  /** The executor-level result cache, on by default as in Flujo. */
  enableCache?: boolean;
  /** Where the executor cache lives; default an InMemoryCache (LRU 1024 entries, TTL 3600 s). */
  cache?: CacheBackend;
  logger?: Logger;
}

export interface ExecuteOptions {
  /** The live context; default a fresh PipelineContext. */
  context?: Ctx;
  resources?: unknown;
  limits?: UsageLimits;
  signal?: AbortSignal;
  /** Validates the context after an `updatesContext` step. */
  contextSchema?: Schema;
}

/**
 * Runs one step through the policy registered for its kind. Agent failures come back as failed
 * StepResults; only control-flow errors (usage limits, pauses, redirect loops, missing agents, type
 * mismatches, cancellation) are thrown.
 */
export class ExecutorCore {
  readonly registry: PolicyRegistry;
  readonly cacheEnabled: boolean;
  readonly cache: CacheBackend;
  readonly logger: Logger;

  constructor(options: ExecutorCoreOptions = {}) {
    this.registry = new PolicyRegistry(agentPolicy);
    this.registry.register(Step, agentPolicy);
    this.registry.register(CacheStep, cachePolicy);
    this.registry.register(LoopStep, loopPolicy);
    this.registry.register(MapStep, mapPolicy);
    this.registry.register(ConditionalStep, conditionalPolicy);
    this.registry.register(ParallelStep, parallelPolicy);
    this.registry.register(DynamicParallelRouterStep, routerPolicy);
    this.registry.register(StateMachineStep, stateMachinePolicy);
    this.registry.register(HumanInTheLoopStep, hitlPolicy);
    this.cacheEnabled = options.enableCache ?? true;
    this.cache = options.cache ?? new InMemoryCache();
    this.logger = options.logger ?? console;
  }

  /** Registers the policy of a custom step kind (subclasses use it too unless they register their own). */
  registerPolicy(stepClass: StepClass, policy: Policy): void {
    this.registry.register(stepClass, policy);
  }

  async execute(step: Step, data: unknown, options: ExecuteOptions = {}): Promise<StepResult> {
    if (!(step instanceof Step))
      throw new ConfigurationError("ExecutorCore.execute needs a Step as its first argument");
    checkUsageLimits(options.limits);
    return this.run(this.frame(options), step, data);
  }

  /** Builds the frame of a top-level execution. The runner calls this once per run. */
  frame(
    options: ExecuteOptions & {
      quota?: Quota;
      onChunk?: (chunk: unknown) => void;
      observer?: StepObserver;
      scope?: StepScope | undefined;
    },
  ): Frame {
    const signal = options.signal ?? NEVER_ABORTED;
    return {
      core: this,
      context: options.context ?? defaultPipelineContext(),
      resources: options.resources,
      quota: options.quota ?? new Quota(options.limits),
      signal,
      cancellable: signal !== NEVER_ABORTED,
      contextSchema: options.contextSchema,
      cacheEnabled: this.cacheEnabled,
      fallbackChain: [],
      inLoop: false,
      onChunk: options.onChunk,
      observer: options.observer,
      scope: options.scope,
    };
  }

  /** Runs a step within a frame; policies of complex steps call this for their children. */
  run(frame: Frame, step: Step, data: unknown): Promise<StepResult> {
    // The only observability cost when it is off: one read of a field that is always undefined.
    const observer = frame.observer;
    if (observer !== undefined) return observer.run(frame, step, data);
    return this.dispatch(frame, step, data);
  }

  /** The step's policy, behind the executor cache for plain steps; `run` without the observer. */
  dispatch(
    frame: Frame,
    step: Step,
    data: unknown,
    policy: Policy = this.registry.of(step),
  ): Promise<StepResult> {
    if (!frame.cacheEnabled || step.isComplex || frame.onChunk !== undefined)
      return policy(frame, step, data);
    let key: string;
    try {
      key = cacheKey(step, data);
    } catch (err) {
      // Inputs that have no canonical form (functions, class instances with cycles, Maps) simply skip the
      // executor cache, which the user did not ask for explicitly.
      if (err instanceof NotEncodableError) return policy(frame, step, data);
      throw err;
    }
    // The span of a cache hit starts at the lookup (on a miss the step's policy starts it again).
    if (frame.scope !== undefined) frame.scope.start = now();
    return cachedExecution(frame, key, this.cache, () => policy(frame, step, data), step, canStore);
  }
}
