import { ConfigurationError } from "../domain/errors.js";
import { describe } from "./config.js";
import { Pipeline } from "./pipeline.js";
import { Step, stepKinds } from "./step.js";

type Ctx = Record<string, unknown>;
type Awaitable<T> = T | Promise<T>;

/**
 * What a condition returns. Branches are keyed by strings (JavaScript object keys are strings), so a
 * `true` key is the branch "true" and `1` is the branch "1", as `{ true: p, 1: q }` already spells them.
 */
export type BranchKey = string | number | boolean;

export interface BranchOptions<In = unknown> {
  name: string;
  /** Picks the branch: called with the step's input and the live context. */
  condition: (data: In, context: Ctx) => Awaitable<BranchKey | null | undefined>;
  /** Branch key -> the steps to run. At least one. */
  branches: Readonly<Record<string, Pipeline | Step>>;
  /** Runs when no branch matches the key exactly (before the case-insensitive match is tried). */
  defaultBranch?: Pipeline | Step | undefined;
  /** Maps the step's input to the branch's input. */
  branchInputMapper?: ((data: In, context: Ctx) => Awaitable<unknown>) | undefined;
  /** Maps the branch's output to the step's output; gets the evaluated key and the branch's context. */
  branchOutputMapper?: ((output: unknown, key: unknown, context: Ctx) => Awaitable<unknown>) | undefined;
}

/**
 * Flujo's ConditionalStep: evaluates `condition`, runs the matching branch on an isolated context and
 * merges that context back only if the branch succeeds.
 */
export class ConditionalStep<In = unknown> extends Step<In> {
  readonly condition: BranchOptions<In>["condition"];
  /** Frozen, with a null prototype: only the given keys are branches. */
  readonly branches: Readonly<Record<string, Pipeline>>;
  readonly defaultBranch: Pipeline | undefined;
  readonly branchInputMapper: BranchOptions<In>["branchInputMapper"];
  readonly branchOutputMapper: BranchOptions<In>["branchOutputMapper"];

  override get isComplex(): boolean {
    return true;
  }

  constructor(options: BranchOptions<In>) {
    super({ name: options?.name });
    const name = options.name;
    const fail = (message: string) => new ConfigurationError(`ConditionalStep '${name}': ${message}`);
    if (typeof options.condition !== "function")
      throw fail(`condition must be a function, got ${describe(options.condition)}`);
    const given = options.branches;
    if (typeof given !== "object" || given === null || Array.isArray(given))
      throw fail(`branches must be an object of branch key -> Pipeline or Step, got ${describe(given)}`);
    const keys = Object.keys(given);
    if (keys.length === 0) throw fail("'branches' dictionary cannot be empty.");
    const branches = Object.create(null) as Record<string, Pipeline>;
    for (const key of keys) {
      const branch = given[key];
      if (!(branch instanceof Pipeline) && !(branch instanceof Step))
        throw fail(`branch '${key}' must be a Pipeline or a Step, got ${describe(branch)}`);
      // defineProperty: a "__proto__" key stays an ordinary branch name.
      Object.defineProperty(branches, key, {
        value: asPipeline(branch),
        enumerable: true,
        writable: false,
        configurable: false,
      });
    }
    const fallback = options.defaultBranch;
    if (fallback !== undefined && !(fallback instanceof Pipeline) && !(fallback instanceof Step))
      throw fail(`defaultBranch must be a Pipeline or a Step, got ${describe(fallback)}`);
    for (const field of ["branchInputMapper", "branchOutputMapper"] as const) {
      const fn = options[field];
      if (fn !== undefined && typeof fn !== "function")
        throw fail(`${field} must be a function, got ${describe(fn)}`);
    }
    this.condition = options.condition;
    this.branches = Object.freeze(branches);
    this.defaultBranch = fallback === undefined ? undefined : asPipeline(fallback);
    this.branchInputMapper = options.branchInputMapper;
    this.branchOutputMapper = options.branchOutputMapper;
    if (new.target === ConditionalStep) Object.freeze(this);
  }
}

function asPipeline(branch: Pipeline | Step): Pipeline {
  return branch instanceof Step ? Pipeline.fromStep(branch) : branch;
}

stepKinds.branchOn = (options) => new ConditionalStep(options as BranchOptions);
