// PLACEHOLDER: to be implemented (issue 3). Step.refineUntil builds a Pipeline (a LoopStep + an output mapper).
import { ConfigurationError } from "../domain/errors.js";
import { stepKinds } from "./step.js";

export interface RefineOptions {
  name: string;
}

stepKinds.refineUntil = (options) => {
  throw new ConfigurationError(
    `Step.refineUntil is not implemented yet (step '${(options as RefineOptions).name}')`,
  );
};
