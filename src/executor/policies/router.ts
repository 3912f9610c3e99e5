// PLACEHOLDER: to be implemented (issue 3).
import { ConfigurationError } from "../../domain/errors.js";
import type { Policy } from "../registry.js";

export const routerPolicy: Policy = async (_frame, step) => {
  throw new ConfigurationError(`Step '${step.name}': this step kind is not implemented yet`);
};
