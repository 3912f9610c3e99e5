import type { CacheBackend } from "../cache/backend.js";
import { InMemoryCache } from "../cache/memory.js";
import { ConfigurationError } from "../domain/errors.js";
import type { BranchOptions, ConditionalStep } from "./conditional.js";
import { describe, resolveConfig, type StepConfig, type StepConfigInput } from "./config.js";
import type { HumanInTheLoopOptions, HumanInTheLoopStep } from "./hitl.js";
import type { LoopOptions, LoopStep } from "./loop.js";
import type { MapOptions, MapStep } from "./map.js";
import type { ParallelOptions, ParallelStep } from "./parallel.js";
import { Pipeline } from "./pipeline.js";
import type { RefineOptions } from "./refine.js";
import type { DynamicParallelRouterStep, RouterOptions } from "./router.js";
import type { StateMachineOptions, StateMachineStep } from "./stateMachine.js";
import type { Agent, AgentFunction, AgentProcessors, Plugin, Processor, Schema, Validator } from "./types.js";

export type FailureHandler = () => void | Promise<void>;

/** The key of a step's engine slots; not exported from the package. */
export const ENGINE_SLOTS: unique symbol = Symbol("flujo.engineSlots");

/**
 * What the engine caches per step object, next to it rather than in a map. A lookup per step execution
 * by name measured as much as everything else metrics recording does, and with the plans in a WeakMap
 * keyed by steps W1 at N=10,000 cost 0.83-0.97 µs/step against 0.56-0.58 here. Not part of the step's
 * definition; a frozen step keeps this one object mutable.
 */
export class EngineSlots {
  /** The agent policy's compiled plan (executor/plan.ts). */
  plan: unknown = undefined;
  /** The part of its cache keys that describes the step (cache/key.ts). */
  cacheKeyPrefix: unknown = undefined;
  /** A plain LoopStep's driver (executor/policies/loop.ts). */
  loopDriver: unknown = undefined;
  /**
   * The key of the Metrics this step last recorded into (it says which Metrics, and whether an alert
   * rule watches the step), and its stats' index there (observability/metrics.ts).
   */
  metricsKey: unknown = undefined;
  statsIndex = 0;
  /** The policy `registry` resolved for this step, as of its `registryVersion` (executor/registry.ts). */
  policy: unknown = undefined;
  registry: unknown = undefined;
  registryVersion = 0;
}

export interface StepOptions<In = unknown, Out = unknown> {
  name: string;
  agent?: Agent<In, Out> | AgentFunction<In, Out> | undefined;
  config?: StepConfigInput | undefined;
  /** Plugins, each optionally with a priority (default 0); higher priorities run first. */
  plugins?: ReadonlyArray<Plugin | readonly [Plugin, number]> | undefined;
  validators?: readonly Validator[] | undefined;
  processors?: AgentProcessors | undefined;
  fallbackStep?: Step | undefined;
  /** Merge a plain-object output into the run context (validated against the context schema). */
  updatesContext?: boolean | undefined;
  /** Write the output to this dotted context path, e.g. "result.value". */
  sinkTo?: string | undefined;
  meta?: Record<string, unknown> | undefined;
  /** Called once when the step fails at the top level of a run. */
  failureHandlers?: readonly FailureHandler[] | undefined;
  /** Checked against the incoming value at run time; a mismatch raises TypeMismatchError. */
  inputSchema?: Schema<In> | undefined;
}

/** Options of `Step.fromCallable`: StepOptions without the agent, with config fields allowed at the top level. */
export type CallableStepOptions<In = unknown, Out = unknown> = Omit<StepOptions<In, Out>, "agent" | "name"> &
  StepConfigInput & { name?: string };

const CONFIG_FIELDS = [
  "maxRetries",
  "timeoutS",
  "temperature",
  "topK",
  "topP",
  "expectedCostUsd",
  "expectedTokens",
  "preserveFallbackDiagnostics",
] as const;

/**
 * One step of a pipeline: an agent (or function) with its retries, plugins, validators, processors and
 * fallback. Steps are immutable once built; methods that "change" a step return a new one.
 */
export class Step<In = unknown, Out = unknown> {
  readonly name: string;
  readonly agent: Agent<In, Out> | AgentFunction<In, Out> | undefined;
  readonly config: Readonly<StepConfig>;
  readonly plugins: ReadonlyArray<readonly [Plugin, number]>;
  readonly validators: readonly Validator[];
  readonly processors: Readonly<{
    promptProcessors: readonly Processor[];
    outputProcessors: readonly Processor[];
  }>;
  readonly fallbackStep: Step | undefined;
  readonly updatesContext: boolean;
  readonly sinkTo: string | undefined;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly failureHandlers: readonly FailureHandler[];
  /** Typed loosely on purpose: a schema is checked at run time, and its type must not make Step invariant. */
  readonly inputSchema: Schema | undefined;
  /** @internal */
  readonly [ENGINE_SLOTS] = new EngineSlots();
  /** Flujo's `is_complex`: true for step kinds that run other steps. */
  get isComplex(): boolean {
    return false;
  }

  constructor(options: StepOptions<In, Out>) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigurationError(`Step options must be an object, got ${describe(options)}`);
    }
    const name = options.name;
    if (typeof name !== "string" || name.length === 0) {
      throw new ConfigurationError(`Step name must be a non-empty string, got ${describe(name)}`);
    }
    this.name = name;
    const agent = options.agent;
    if (agent !== undefined && agent !== null) {
      const runnable =
        typeof agent === "function" ||
        (typeof agent === "object" && typeof (agent as Agent).run === "function");
      if (!runnable) {
        throw new ConfigurationError(
          `Step '${name}': agent must be a function or an object with a run(input, options) method, got ${describe(agent)}`,
        );
      }
    }
    this.agent = agent ?? undefined;
    this.config = resolveConfig(name, options.config);
    this.plugins = Object.freeze(normalizePlugins(name, options.plugins ?? []));
    this.validators = Object.freeze(checkList(name, "validators", options.validators ?? [], "validate"));
    this.processors = Object.freeze({
      promptProcessors: Object.freeze(
        checkList(name, "processors.promptProcessors", options.processors?.promptProcessors ?? [], "process"),
      ),
      outputProcessors: Object.freeze(
        checkList(name, "processors.outputProcessors", options.processors?.outputProcessors ?? [], "process"),
      ),
    });
    const fallback = options.fallbackStep;
    if (fallback !== undefined && !(fallback instanceof Step)) {
      throw new ConfigurationError(`Step '${name}': fallbackStep must be a Step, got ${describe(fallback)}`);
    }
    if (fallback !== undefined && fallback.name === name) {
      throw new ConfigurationError(
        `Step '${name}': fallbackStep has the same name as the step; fallback loops are detected by name, so give it its own name`,
      );
    }
    this.fallbackStep = fallback;
    if (options.updatesContext !== undefined && typeof options.updatesContext !== "boolean") {
      throw new ConfigurationError(
        `Step '${name}': updatesContext must be a boolean, got ${describe(options.updatesContext)}`,
      );
    }
    this.updatesContext = options.updatesContext ?? false;
    if (options.sinkTo !== undefined && !isValidPath(options.sinkTo)) {
      throw new ConfigurationError(
        `Step '${name}': sinkTo must be a dotted path of non-empty segments (not __proto__, constructor or prototype), got ${describe(options.sinkTo)}`,
      );
    }
    this.sinkTo = options.sinkTo;
    this.meta = Object.freeze({ ...(options.meta ?? {}) });
    const handlers = options.failureHandlers ?? [];
    for (const h of handlers) {
      if (typeof h !== "function") {
        throw new ConfigurationError(`Step '${name}': failureHandlers must be functions, got ${describe(h)}`);
      }
    }
    this.failureHandlers = Object.freeze([...handlers]);
    const schema = options.inputSchema;
    if (schema !== undefined && typeof (schema as { "~standard"?: unknown })["~standard"] !== "object") {
      throw new ConfigurationError(
        `Step '${name}': inputSchema must be a Standard Schema (zod, valibot, ...)`,
      );
    }
    this.inputSchema = schema;
    if (new.target === Step) Object.freeze(this);
  }

  /** A step from a function `fn(input, { context, resources, signal })`. */
  static fromCallable<In, Out>(
    fn: (input: In, options: import("./types.js").AgentRunOptions) => Out | Promise<Out>,
    options: CallableStepOptions<In, Awaited<Out>> = {},
  ): Step<In, Awaited<Out>> {
    if (typeof fn !== "function") {
      throw new ConfigurationError(`Step.fromCallable needs a function, got ${describe(fn)}`);
    }
    const name = options.name ?? fn.name;
    if (!name) {
      throw new ConfigurationError("Step.fromCallable: the function is anonymous, so pass { name }");
    }
    const { name: _n, config, ...rest } = options;
    const flat: StepConfigInput = {};
    const stepOptions: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(rest)) {
      if ((CONFIG_FIELDS as readonly string[]).includes(key)) (flat as Record<string, unknown>)[key] = value;
      else stepOptions[key] = value;
    }
    return new Step<In, Awaited<Out>>({
      ...(stepOptions as Omit<StepOptions<In, Awaited<Out>>, "name">),
      name,
      agent: fn as AgentFunction<In, Awaited<Out>>,
      config: { ...(config ?? {}), ...flat },
    });
  }

  /** Alias of fromCallable, as in Flujo. */
  static fromMapper<In, Out>(
    fn: (input: In, options: import("./types.js").AgentRunOptions) => Out | Promise<Out>,
    options: CallableStepOptions<In, Awaited<Out>> = {},
  ): Step<In, Awaited<Out>> {
    return Step.fromCallable(fn, options);
  }

  /** Flujo's `loop_until`: a LoopStep running `body` until `exitCondition` holds (maxLoops default 5). */
  static loopUntil<In = unknown, Out = unknown>(options: LoopOptions<In, Out>): LoopStep<In, Out> {
    return kind("loopUntil")(options as LoopOptions) as LoopStep<In, Out>;
  }

  /** Flujo's `map_over`: runs `body` once per item of the context field `iterableInput`. */
  static mapOver(options: MapOptions): MapStep {
    return kind("mapOver")(options) as MapStep;
  }

  /** Flujo's `branch_on`: runs the branch whose key `condition(data, context)` returns. */
  static branchOn(options: BranchOptions): ConditionalStep {
    return kind("branchOn")(options) as ConditionalStep;
  }

  /** Flujo's `parallel`: runs the branches concurrently on the same input and merges their contexts. */
  static parallel(options: ParallelOptions): ParallelStep {
    return kind("parallel")(options) as ParallelStep;
  }

  /** Flujo's `dynamic_parallel_branch`: a router agent picks which branches run in parallel. */
  static dynamicParallelBranch(options: RouterOptions): DynamicParallelRouterStep {
    return kind("dynamicParallelBranch")(options) as DynamicParallelRouterStep;
  }

  /** A state machine over named state pipelines with transitions. */
  static stateMachine(options: StateMachineOptions): StateMachineStep {
    return kind("stateMachine")(options) as StateMachineStep;
  }

  /** Flujo's `human_in_the_loop`: pauses the run until `runner.resume(paused, input)`. */
  static humanInTheLoop(options: HumanInTheLoopOptions): HumanInTheLoopStep {
    return kind("humanInTheLoop")(options) as HumanInTheLoopStep;
  }

  /** Flujo's `refine_until`: a generator/critic loop, returned as a pipeline. */
  static refineUntil(options: RefineOptions): Pipeline {
    return kind("refineUntil")(options);
  }

  /** Wraps a step so its successful results are cached by input (Flujo's CacheStep). */
  static cached<In, Out>(step: Step<In, Out>, options: { backend?: CacheBackend } = {}): CacheStep<In, Out> {
    return new CacheStep(step, options.backend);
  }

  /** The options this step was built from, for building a modified copy. */
  toOptions(): Omit<StepOptions<In, Out>, "inputSchema"> & { inputSchema: Schema | undefined } {
    return {
      name: this.name,
      agent: this.agent,
      config: this.config,
      plugins: this.plugins,
      validators: this.validators,
      processors: this.processors,
      fallbackStep: this.fallbackStep,
      updatesContext: this.updatesContext,
      sinkTo: this.sinkTo,
      meta: this.meta,
      failureHandlers: this.failureHandlers,
      inputSchema: this.inputSchema,
    };
  }

  /** A copy of this step with a fallback. */
  fallback(step: Step): Step<In, Out> {
    return this.with({ fallbackStep: step });
  }

  /** A copy of this step with one more plugin. */
  addPlugin(plugin: Plugin, priority = 0): Step<In, Out> {
    return this.with({ plugins: [...this.plugins, [plugin, priority]] });
  }

  /** A copy with other options, e.g. `step.with({ name: "b" })`. */
  with(changes: Partial<StepOptions<In, Out>>): Step<In, Out> {
    return new Step({ ...this.toOptions(), ...changes } as StepOptions<In, Out>);
  }

  /**
   * A pipeline of this step followed by `next` (Flujo's `step >> other`). Not called `then`: a `then` method
   * would make every Step a thenable, so `await step` or returning a step from an async function would call it.
   */
  pipe<Next>(next: Step<Out, Next> | Pipeline<Out, Next>): Pipeline<In, Next> {
    return Pipeline.fromStep(this).pipe(next);
  }
}

/** Flujo's CacheStep: runs the wrapped step on a miss and stores only successful results. */
export class CacheStep<In = unknown, Out = unknown> extends Step<In, Out> {
  readonly wrappedStep: Step<In, Out>;
  readonly cacheBackend: CacheBackend;
  override get isComplex(): boolean {
    return true;
  }
  constructor(wrapped: Step<In, Out>, backend?: CacheBackend) {
    if (!(wrapped instanceof Step)) {
      throw new ConfigurationError(`Step.cached needs a Step, got ${describe(wrapped)}`);
    }
    super({
      name: wrapped.name,
      agent: wrapped.agent,
      updatesContext: wrapped.updatesContext,
      sinkTo: wrapped.sinkTo,
    });
    if (backend !== undefined && (typeof backend.get !== "function" || typeof backend.set !== "function")) {
      throw new ConfigurationError(
        `Step '${wrapped.name}': cache backend must have get(key) and set(key, result)`,
      );
    }
    this.wrappedStep = wrapped;
    this.cacheBackend = backend ?? new InMemoryCache();
    if (new.target === CacheStep) Object.freeze(this);
  }
}

/**
 * Builders of the complex step kinds, filled in by their modules (dsl/loop.ts, ...). Those modules extend
 * Step, so step.ts cannot import them at run time without an import cycle; `Step.loopUntil` and friends
 * reach them through this table instead. src/index.ts imports every kind, so the table is always full.
 */
export const stepKinds: {
  loopUntil?: (options: LoopOptions) => Step;
  mapOver?: (options: MapOptions) => Step;
  branchOn?: (options: BranchOptions) => Step;
  parallel?: (options: ParallelOptions) => Step;
  dynamicParallelBranch?: (options: RouterOptions) => Step;
  stateMachine?: (options: StateMachineOptions) => Step;
  humanInTheLoop?: (options: HumanInTheLoopOptions) => Step;
  refineUntil?: (options: RefineOptions) => Pipeline;
} = {};

function kind<K extends keyof typeof stepKinds>(name: K): NonNullable<(typeof stepKinds)[K]> {
  const builder = stepKinds[name];
  if (builder === undefined) throw new Error(`Step.${name} is not available: import it from "flujo"`);
  return builder as NonNullable<(typeof stepKinds)[K]>;
}

const FORBIDDEN_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);

export function isValidPath(path: unknown): path is string {
  if (typeof path !== "string" || path.length === 0) return false;
  return path.split(".").every((seg) => seg.length > 0 && !FORBIDDEN_SEGMENTS.has(seg));
}

function normalizePlugins(
  stepName: string,
  plugins: ReadonlyArray<Plugin | readonly [Plugin, number]>,
): Array<readonly [Plugin, number]> {
  if (!Array.isArray(plugins)) {
    throw new ConfigurationError(`Step '${stepName}': plugins must be an array, got ${describe(plugins)}`);
  }
  return plugins.map((entry, i) => {
    const [plugin, priority] = Array.isArray(entry) ? entry : [entry, 0];
    if (typeof plugin !== "object" || plugin === null || typeof (plugin as Plugin).validate !== "function") {
      throw new ConfigurationError(
        `Step '${stepName}': plugins[${i}] must be an object with a validate(data, options) method, got ${describe(plugin)}`,
      );
    }
    if (typeof priority !== "number" || !Number.isFinite(priority)) {
      throw new ConfigurationError(
        `Step '${stepName}': plugins[${i}] priority must be a finite number, got ${describe(priority)}`,
      );
    }
    return Object.freeze([plugin as Plugin, priority] as const);
  });
}

function checkList<T>(stepName: string, field: string, list: readonly T[], method: string): T[] {
  if (!Array.isArray(list)) {
    throw new ConfigurationError(`Step '${stepName}': ${field} must be an array, got ${describe(list)}`);
  }
  list.forEach((item, i) => {
    const ok =
      typeof item === "function" ||
      (typeof item === "object" &&
        item !== null &&
        typeof (item as Record<string, unknown>)[method] === "function");
    if (!ok) {
      throw new ConfigurationError(
        `Step '${stepName}': ${field}[${i}] must be a function or an object with a ${method}() method, got ${describe(item)}`,
      );
    }
  });
  return [...list];
}
