// PLACEHOLDER: to be implemented (issue 3). The class, options type, builder registration and policy
// export names are wired into step.ts, executor/core.ts and index.ts; keep these names.
import { ConfigurationError } from "../domain/errors.js";
import { Step, stepKinds } from "./step.js";

export interface StateMachineOptions {
  name: string;
}

export class StateMachineStep extends Step {
  override get isComplex(): boolean {
    return true;
  }

  constructor(options: StateMachineOptions) {
    super({ name: options?.name });
    if (new.target === StateMachineStep) Object.freeze(this);
  }
}

stepKinds.stateMachine = (options) => {
  throw new ConfigurationError(
    `Step.stateMachine is not implemented yet (step '${(options as StateMachineOptions).name}')`,
  );
};
