import { ConfigurationError } from "../domain/errors.js";
import { type BranchFailureStrategy, type MergeFunction, MergeStrategy } from "../domain/strategies.js";
import { describe } from "./config.js";
import { checkBranches, checkBranchSettings } from "./parallel.js";
import type { Pipeline } from "./pipeline.js";
import { Step, stepKinds } from "./step.js";
import type { Agent, AgentFunction } from "./types.js";

export interface RouterOptions {
  name: string;
  /** Returns the names of the branches to run (a list, or one name as a string). */
  routerAgent: Agent | AgentFunction;
  /** Branch name -> the Step or Pipeline it runs; at least one. */
  branches: Record<string, Step | Pipeline>;
  contextIncludeKeys?: readonly string[] | undefined;
  /**
   * How successful branches' context changes come back. `Step.dynamicParallelBranch` defaults to
   * CONTEXT_UPDATE; `new DynamicParallelRouterStep` defaults to NO_MERGE, as in Flujo.
   */
  mergeStrategy?: MergeStrategy | MergeFunction | undefined;
  onBranchFailure?: BranchFailureStrategy | undefined;
  fieldMapping?: Record<string, readonly string[]> | undefined;
}

/**
 * Flujo's DynamicParallelRouterStep: the router agent runs first (as a step named `{name}_router`) and
 * picks branches by name; the chosen ones then run as a parallel step with this step's settings.
 */
export class DynamicParallelRouterStep extends Step {
  readonly routerAgent: Agent | AgentFunction;
  /** The step the router agent runs as. */
  readonly routerStep: Step;
  readonly branches: Readonly<Record<string, Pipeline>>;
  readonly branchNames: readonly string[];
  readonly contextIncludeKeys: readonly string[] | undefined;
  readonly mergeStrategy: MergeStrategy | MergeFunction;
  readonly onBranchFailure: BranchFailureStrategy;
  readonly fieldMapping: Readonly<Record<string, readonly string[]>> | undefined;

  override get isComplex(): boolean {
    return true;
  }

  constructor(options: RouterOptions) {
    super({ name: options?.name });
    const name = options.name;
    const kind = `DynamicParallelRouterStep '${name}'`;
    const agent = options.routerAgent;
    if (agent === undefined || agent === null) {
      throw new ConfigurationError(`${kind}: routerAgent is required`);
    }
    if (
      typeof agent !== "function" &&
      !(typeof agent === "object" && typeof (agent as Agent).run === "function")
    ) {
      throw new ConfigurationError(
        `${kind}: routerAgent must be a function or an object with a run(input, options) method, got ${describe(agent)}`,
      );
    }
    const branches = checkBranches(kind, options.branches, false);
    const shared = checkBranchSettings(kind, options, Object.keys(branches));
    this.routerAgent = agent;
    this.routerStep = new Step({ name: `${name}_router`, agent });
    this.branches = branches;
    this.branchNames = Object.freeze(Object.keys(branches));
    this.contextIncludeKeys = shared.contextIncludeKeys;
    this.mergeStrategy = options.mergeStrategy ?? MergeStrategy.NO_MERGE;
    this.onBranchFailure = shared.onBranchFailure;
    this.fieldMapping = shared.fieldMapping;
    if (new.target === DynamicParallelRouterStep) Object.freeze(this);
  }
}

stepKinds.dynamicParallelBranch = (options) =>
  new DynamicParallelRouterStep({
    ...options,
    mergeStrategy: options?.mergeStrategy ?? MergeStrategy.CONTEXT_UPDATE,
  });
