// PLACEHOLDER: to be implemented (issue 3). The class, options type, builder registration and policy
// export names are wired into step.ts, executor/core.ts and index.ts; keep these names.
import { ConfigurationError } from "../domain/errors.js";
import { Step, stepKinds } from "./step.js";

export interface HumanInTheLoopOptions {
  name: string;
}

export class HumanInTheLoopStep extends Step {
  override get isComplex(): boolean {
    return true;
  }

  constructor(options: HumanInTheLoopOptions) {
    super({ name: options?.name });
    if (new.target === HumanInTheLoopStep) Object.freeze(this);
  }
}

stepKinds.humanInTheLoop = (options) => {
  throw new ConfigurationError(
    `Step.humanInTheLoop is not implemented yet (step '${(options as HumanInTheLoopOptions).name}')`,
  );
};
