// PLACEHOLDER: to be implemented (issue 3). The class, options type, builder registration and policy
// export names are wired into step.ts, executor/core.ts and index.ts; keep these names.
import { ConfigurationError } from "../domain/errors.js";
import { Step, stepKinds } from "./step.js";

export interface MapOptions {
  name: string;
}

export class MapStep extends Step {
  override get isComplex(): boolean {
    return true;
  }

  constructor(options: MapOptions) {
    super({ name: options?.name });
    if (new.target === MapStep) Object.freeze(this);
  }
}

stepKinds.mapOver = (options) => {
  throw new ConfigurationError(
    `Step.mapOver is not implemented yet (step '${(options as MapOptions).name}')`,
  );
};
