import { ConfigurationError } from "../domain/errors.js";
import { describe } from "./config.js";
import { Step, stepKinds } from "./step.js";
import type { Schema } from "./types.js";
import { HUMAN_IN_THE_LOOP } from "./validate.js";

type Ctx = Record<string, unknown>;

export interface HumanInTheLoopOptions<Answer = unknown> {
  name: string;
  /**
   * What the human is asked. Default: the step's input as text (a string as is, other values as JSON).
   * A function gets the input and the live context (Flujo's message templates).
   */
  messageForUser?: string | ((input: unknown, context: Ctx) => string) | undefined;
  /**
   * Checks the human's answer on `runner.resume`: a rejected answer throws HumanInputValidationError and
   * the run stays paused; an accepted one is replaced by the schema's output (coercions, defaults).
   */
  inputSchema?: Schema<Answer> | undefined;
  /** Write the answer to this dotted context path. */
  sinkTo?: string | undefined;
  /** Merge a plain-object answer into the context. */
  updatesContext?: boolean | undefined;
  meta?: Record<string, unknown> | undefined;
}

/**
 * Flujo's HumanInTheLoopStep: pauses the run (context status "paused") until `runner.resume(paused, answer)`;
 * the answer becomes this step's output.
 */
export class HumanInTheLoopStep<In = unknown, Answer = unknown> extends Step<In, Answer> {
  readonly messageForUser: HumanInTheLoopOptions["messageForUser"];

  override get isComplex(): boolean {
    return true;
  }

  constructor(options: HumanInTheLoopOptions<Answer>) {
    super({
      name: options?.name,
      // The schema checks the human answer (parseHumanInput), not the step input: the agent policy never runs here.
      inputSchema: options?.inputSchema as Schema<In> | undefined,
      sinkTo: options?.sinkTo,
      updatesContext: options?.updatesContext,
      meta: options?.meta,
    });
    const message = options.messageForUser;
    if (message !== undefined && typeof message !== "string" && typeof message !== "function") {
      throw new ConfigurationError(
        `HumanInTheLoopStep '${options.name}': messageForUser must be a string or a function, got ${describe(message)}`,
      );
    }
    this.messageForUser = message;
    if (new.target === HumanInTheLoopStep) Object.freeze(this);
  }
}

Object.defineProperty(HumanInTheLoopStep.prototype, HUMAN_IN_THE_LOOP, { value: true });

stepKinds.humanInTheLoop = (options) => new HumanInTheLoopStep(options);
