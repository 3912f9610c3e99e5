// PLACEHOLDER: to be implemented (issue 3). The class, options type, builder registration and policy
// export names are wired into step.ts, executor/core.ts and index.ts; keep these names.
import { ConfigurationError } from "../domain/errors.js";
import { Step, stepKinds } from "./step.js";

export interface ParallelOptions {
  name: string;
}

export class ParallelStep extends Step {
  override get isComplex(): boolean {
    return true;
  }

  constructor(options: ParallelOptions) {
    super({ name: options?.name });
    if (new.target === ParallelStep) Object.freeze(this);
  }
}

stepKinds.parallel = (options) => {
  throw new ConfigurationError(
    `Step.parallel is not implemented yet (step '${(options as ParallelOptions).name}')`,
  );
};
