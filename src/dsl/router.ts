// PLACEHOLDER: to be implemented (issue 3). The class, options type, builder registration and policy
// export names are wired into step.ts, executor/core.ts and index.ts; keep these names.
import { ConfigurationError } from "../domain/errors.js";
import { Step, stepKinds } from "./step.js";

export interface RouterOptions {
  name: string;
}

export class DynamicParallelRouterStep extends Step {
  override get isComplex(): boolean {
    return true;
  }

  constructor(options: RouterOptions) {
    super({ name: options?.name });
    if (new.target === DynamicParallelRouterStep) Object.freeze(this);
  }
}

stepKinds.dynamicParallelBranch = (options) => {
  throw new ConfigurationError(
    `Step.dynamicParallelBranch is not implemented yet (step '${(options as RouterOptions).name}')`,
  );
};
