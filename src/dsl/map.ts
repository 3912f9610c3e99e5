import { ConfigurationError } from "../domain/errors.js";
import { describe } from "./config.js";
import { LoopStep } from "./loop.js";
import { Pipeline } from "./pipeline.js";
import { isValidPath, Step, stepKinds } from "./step.js";

export interface MapOptions {
  name: string;
  /** The steps run once per item; each item is the body's input. */
  body: Pipeline | Step;
  /**
   * The context field holding the items (any non-string iterable; read once, when the step starts).
   * A dotted path ("batch.items") reaches into nested objects.
   */
  iterableInput: string;
}

/**
 * Flujo's MapStep: runs its body once per item of a context field and outputs the list of the body's
 * outputs, in item order. It is a LoopStep (so graph checks that look for loops see it) whose iteration
 * count is the number of items; `maxLoops` is not used.
 */
export class MapStep extends LoopStep {
  readonly iterableInput: string;

  constructor(options: MapOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigurationError(`MapStep options must be an object, got ${describe(options)}`);
    }
    const name = options.name;
    if (!(options.body instanceof Pipeline) && !(options.body instanceof Step)) {
      throw new ConfigurationError(
        `MapStep '${name}': body must be a Pipeline or a Step, got ${describe(options.body)}`,
      );
    }
    if (!isValidPath(options.iterableInput)) {
      throw new ConfigurationError(
        `MapStep '${name}': iterableInput must be a context field name or a dotted path of non-empty segments (not __proto__, constructor or prototype), got ${describe(options.iterableInput)}`,
      );
    }
    super({ name, body: options.body, maxLoops: Number.MAX_SAFE_INTEGER });
    this.iterableInput = options.iterableInput;
    if (new.target === MapStep) Object.freeze(this);
  }
}

stepKinds.mapOver = (options) => new MapStep(options as MapOptions);
