// PLACEHOLDER: to be implemented (issue 3). The class, options type, builder registration and policy
// export names are wired into step.ts, executor/core.ts and index.ts; keep these names.
import { ConfigurationError } from "../domain/errors.js";
import { Step, stepKinds } from "./step.js";

export interface BranchOptions {
  name: string;
}

export class ConditionalStep extends Step {
  override get isComplex(): boolean {
    return true;
  }

  constructor(options: BranchOptions) {
    super({ name: options?.name });
    if (new.target === ConditionalStep) Object.freeze(this);
  }
}

stepKinds.branchOn = (options) => {
  throw new ConfigurationError(
    `Step.branchOn is not implemented yet (step '${(options as BranchOptions).name}')`,
  );
};
