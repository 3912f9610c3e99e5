import { ConfigurationError } from "../domain/errors.js";
import { describe } from "./config.js";
import { Pipeline } from "./pipeline.js";
import { Step, stepKinds } from "./step.js";

type Ctx = Record<string, unknown>;
type Awaitable<T> = T | Promise<T>;

export interface LoopOptions<In = unknown, Out = unknown> {
  name: string;
  /** The steps run in each iteration. */
  body: Pipeline | Step;
  /** Ends the loop when it returns true; called with the iteration's output and the live context. */
  exitCondition?: ((output: unknown, context: Ctx) => Awaitable<boolean>) | undefined;
  /** Iterations allowed; default 5, at least 1. Reaching it without exiting fails the step. */
  maxLoops?: number | undefined;
  /** Maps the loop's input to the first iteration's input. */
  initialInputMapper?: ((input: In, context: Ctx) => Awaitable<unknown>) | undefined;
  /** Maps an iteration's output to the next one's input; `iteration` is the number of iterations done. */
  iterationInputMapper?:
    | ((output: unknown, context: Ctx, iteration: number) => Awaitable<unknown>)
    | undefined;
  /** Maps the last output to the loop's output. */
  loopOutputMapper?: ((output: unknown, context: Ctx) => Awaitable<Out>) | undefined;
}

/** Flujo's LoopStep: runs its body until the exit condition holds or maxLoops iterations are done. */
export class LoopStep<In = unknown, Out = unknown> extends Step<In, Out> {
  readonly body: Pipeline;
  readonly exitCondition: LoopOptions<In, Out>["exitCondition"];
  readonly maxLoops: number;
  readonly initialInputMapper: LoopOptions<In, Out>["initialInputMapper"];
  readonly iterationInputMapper: LoopOptions<In, Out>["iterationInputMapper"];
  readonly loopOutputMapper: LoopOptions<In, Out>["loopOutputMapper"];

  override get isComplex(): boolean {
    return true;
  }

  constructor(options: LoopOptions<In, Out>) {
    super({ name: options?.name });
    const name = options.name;
    const body = options.body instanceof Step ? Pipeline.fromStep(options.body) : options.body;
    if (!(body instanceof Pipeline)) {
      throw new ConfigurationError(
        `LoopStep '${name}': body must be a Pipeline or a Step, got ${describe(options.body)}`,
      );
    }
    const maxLoops = options.maxLoops ?? 5;
    if (!Number.isInteger(maxLoops) || maxLoops < 1) {
      throw new ConfigurationError(
        `LoopStep '${name}': maxLoops must be an integer >= 1, got ${describe(maxLoops)}`,
      );
    }
    for (const field of [
      "exitCondition",
      "initialInputMapper",
      "iterationInputMapper",
      "loopOutputMapper",
    ] as const) {
      const fn = options[field];
      if (fn !== undefined && typeof fn !== "function") {
        throw new ConfigurationError(`LoopStep '${name}': ${field} must be a function, got ${describe(fn)}`);
      }
    }
    this.body = body;
    this.exitCondition = options.exitCondition;
    this.maxLoops = maxLoops;
    this.initialInputMapper = options.initialInputMapper;
    this.iterationInputMapper = options.iterationInputMapper;
    this.loopOutputMapper = options.loopOutputMapper;
    if (new.target === LoopStep) Object.freeze(this);
  }
}

stepKinds.loopUntil = (options) => new LoopStep(options as LoopOptions);
