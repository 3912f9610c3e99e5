import { ConfigurationError } from "../domain/errors.js";
import type { StepResult } from "../domain/results.js";
import { BranchFailureStrategy, type MergeFunction, MergeStrategy } from "../domain/strategies.js";
import { describe } from "./config.js";
import { Pipeline } from "./pipeline.js";
import { Step, stepKinds } from "./step.js";

type Ctx = Record<string, unknown>;

/**
 * Combines the branches' results into the parallel step's output. It receives the branches' StepResults
 * in declared order, the live context and the output map `{branch: output | StepResult}`: Flujo picks one
 * of `(results, ctx)`, `(results)`, `(outputs, ctx)`, `(outputs)` by retrying on TypeError, which
 * JavaScript cannot do, so every form gets all three. Returning a StepResult overrides the step's output,
 * success and feedback; any other value except null/undefined becomes the output; a throw (or a rejected
 * promise) keeps the output map.
 */
export type ParallelReducer = (
  results: readonly StepResult[],
  context: Ctx,
  outputs: Record<string, unknown>,
) => unknown;

export interface ParallelOptions {
  name: string;
  /** Branch name -> the Step or Pipeline it runs. Every branch gets the parallel step's input. */
  branches: Record<string, Step | Pipeline>;
  /** Only these top-level context keys are copied into the branches; the rest read as defaults. */
  contextIncludeKeys?: readonly string[] | undefined;
  /** How successful branches' context changes come back; default CONTEXT_UPDATE. */
  mergeStrategy?: MergeStrategy | MergeFunction | undefined;
  /** PROPAGATE (default): the step fails if any branch fails. IGNORE: it fails only if all do. */
  onBranchFailure?: BranchFailureStrategy | undefined;
  /** CONTEXT_UPDATE only: branch -> the context fields taken from that branch (instead of a merge). */
  fieldMapping?: Record<string, readonly string[]> | undefined;
  reduce?: ParallelReducer | undefined;
  /** At most this many branches run at once (Flujo stores this field and ignores it). */
  concurrencyLimit?: number | undefined;
}

/** What the parallel policy runs: a ParallelStep, or the router's selection of branches. */
export interface ParallelSpec {
  readonly name: string;
  readonly branchNames: readonly string[];
  /** The steps of each branch, in the order of branchNames. */
  readonly branchSteps: ReadonlyArray<readonly Step[]>;
  readonly contextIncludeKeys: readonly string[] | undefined;
  readonly mergeStrategy: MergeStrategy | MergeFunction;
  readonly onBranchFailure: BranchFailureStrategy;
  readonly fieldMapping: Readonly<Record<string, readonly string[]>> | undefined;
  readonly reduce: ParallelReducer | undefined;
  readonly concurrencyLimit: number | undefined;
}

const MERGE_STRATEGIES: ReadonlySet<unknown> = new Set(Object.values(MergeStrategy));
const FAILURE_STRATEGIES: ReadonlySet<unknown> = new Set(Object.values(BranchFailureStrategy));
const UNSAFE_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Flujo's ParallelStep: runs its branches concurrently on the same input and merges their contexts. */
export class ParallelStep extends Step implements ParallelSpec {
  readonly branches: Readonly<Record<string, Pipeline>>;
  readonly branchNames: readonly string[];
  readonly branchSteps: ReadonlyArray<readonly Step[]>;
  readonly contextIncludeKeys: readonly string[] | undefined;
  readonly mergeStrategy: MergeStrategy | MergeFunction;
  readonly onBranchFailure: BranchFailureStrategy;
  readonly fieldMapping: Readonly<Record<string, readonly string[]>> | undefined;
  readonly reduce: ParallelReducer | undefined;
  readonly concurrencyLimit: number | undefined;

  override get isComplex(): boolean {
    return true;
  }

  constructor(options: ParallelOptions) {
    super({ name: options?.name });
    const name = options.name;
    const kind = `ParallelStep '${name}'`;
    const branches = checkBranches(kind, options.branches, true);
    const shared = checkBranchSettings(kind, options, Object.keys(branches));
    if (options.reduce !== undefined && typeof options.reduce !== "function") {
      throw new ConfigurationError(`${kind}: reduce must be a function, got ${describe(options.reduce)}`);
    }
    const limit = options.concurrencyLimit;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
      throw new ConfigurationError(
        `${kind}: concurrencyLimit must be an integer >= 1, got ${describe(limit)}`,
      );
    }
    this.branches = branches;
    this.branchNames = Object.freeze(Object.keys(branches));
    this.branchSteps = Object.freeze(this.branchNames.map((b) => branches[b].steps));
    this.contextIncludeKeys = shared.contextIncludeKeys;
    this.mergeStrategy = options.mergeStrategy ?? MergeStrategy.CONTEXT_UPDATE;
    this.onBranchFailure = shared.onBranchFailure;
    this.fieldMapping = shared.fieldMapping;
    this.reduce = options.reduce;
    this.concurrencyLimit = limit;
    if (new.target === ParallelStep) Object.freeze(this);
  }
}

/**
 * Checks a branches map (Steps are wrapped in Pipelines) and returns a frozen copy. Branch names become
 * keys of the output map, so `__proto__`, `constructor` and `prototype` are refused.
 */
export function checkBranches(
  kind: string,
  branches: unknown,
  allowEmpty: boolean,
): Readonly<Record<string, Pipeline>> {
  if (typeof branches !== "object" || branches === null || Array.isArray(branches)) {
    throw new ConfigurationError(
      `${kind}: branches must be an object of branch name -> Step or Pipeline, got ${describe(branches)}`,
    );
  }
  const out: Record<string, Pipeline> = {};
  for (const [branch, value] of Object.entries(branches)) {
    if (branch === "" || UNSAFE_NAMES.has(branch)) {
      throw new ConfigurationError(`${kind}: ${describe(branch)} cannot be a branch name`);
    }
    if (value instanceof Pipeline) out[branch] = value;
    else if (value instanceof Step) out[branch] = Pipeline.fromStep(value);
    else {
      throw new ConfigurationError(
        `${kind}: branch '${branch}' must be a Step or a Pipeline, got ${describe(value)}`,
      );
    }
  }
  if (!allowEmpty && Object.keys(out).length === 0) {
    throw new ConfigurationError(`${kind}: 'branches' dictionary cannot be empty.`);
  }
  return Object.freeze(out);
}

/** The settings ParallelStep and DynamicParallelRouterStep share, checked and frozen. */
export function checkBranchSettings(
  kind: string,
  options: Pick<ParallelOptions, "contextIncludeKeys" | "mergeStrategy" | "onBranchFailure" | "fieldMapping">,
  branchNames: readonly string[],
): {
  contextIncludeKeys: readonly string[] | undefined;
  onBranchFailure: BranchFailureStrategy;
  fieldMapping: Readonly<Record<string, readonly string[]>> | undefined;
} {
  const strategy = options.mergeStrategy;
  if (strategy === ("merge_scratchpad" as unknown)) {
    throw new ConfigurationError(
      `${kind}: merge_strategy=MERGE_SCRATCHPAD is removed. Use CONTEXT_UPDATE with explicit field_mapping or OVERWRITE/NO_MERGE.`,
    );
  }
  if (strategy !== undefined && typeof strategy !== "function" && !MERGE_STRATEGIES.has(strategy)) {
    throw new ConfigurationError(
      `${kind}: mergeStrategy must be a MergeStrategy value or a function (context, branchContexts), got ${describe(strategy)}`,
    );
  }
  const failure = options.onBranchFailure ?? BranchFailureStrategy.PROPAGATE;
  if (!FAILURE_STRATEGIES.has(failure)) {
    throw new ConfigurationError(
      `${kind}: onBranchFailure must be BranchFailureStrategy.PROPAGATE or IGNORE, got ${describe(failure)}`,
    );
  }
  let includeKeys: readonly string[] | undefined;
  if (options.contextIncludeKeys !== undefined) {
    includeKeys = Object.freeze(checkKeys(kind, "contextIncludeKeys", options.contextIncludeKeys));
  }
  let mapping: Readonly<Record<string, readonly string[]>> | undefined;
  const fm = options.fieldMapping;
  if (fm !== undefined) {
    if (typeof fm !== "object" || fm === null || Array.isArray(fm)) {
      throw new ConfigurationError(
        `${kind}: fieldMapping must be an object of branch name -> field names, got ${describe(fm)}`,
      );
    }
    const out: Record<string, readonly string[]> = {};
    for (const [branch, fields] of Object.entries(fm)) {
      if (!branchNames.includes(branch)) {
        throw new ConfigurationError(`${kind}: fieldMapping names an unknown branch '${branch}'`);
      }
      out[branch] = Object.freeze(checkKeys(kind, `fieldMapping.${branch}`, fields));
    }
    mapping = Object.freeze(out);
  }
  return { contextIncludeKeys: includeKeys, onBranchFailure: failure, fieldMapping: mapping };
}

function checkKeys(kind: string, field: string, keys: unknown): string[] {
  if (!Array.isArray(keys)) {
    throw new ConfigurationError(`${kind}: ${field} must be an array of context keys, got ${describe(keys)}`);
  }
  for (const key of keys) {
    if (typeof key !== "string" || key === "" || UNSAFE_NAMES.has(key)) {
      throw new ConfigurationError(
        `${kind}: ${field} must hold non-empty context keys (not __proto__, constructor or prototype), got ${describe(key)}`,
      );
    }
  }
  return [...(keys as string[])];
}

stepKinds.parallel = (options) => new ParallelStep(options);
