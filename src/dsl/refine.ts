import { ConfigurationError } from "../domain/errors.js";
import type { LoopDriver, LoopDriverFactory } from "../executor/policies/loop.js";
import { describe } from "./config.js";
import { LoopStep } from "./loop.js";
import { Pipeline } from "./pipeline.js";
import { Step, stepKinds } from "./step.js";

/** What a critic returns: `isComplete` ends the refinement; `feedback` goes to the next generation. */
export interface RefinementCheck {
  isComplete: boolean;
  feedback?: string | undefined;
}

/** The input of each generation. `feedback` is undefined on the first one. */
export interface RefinementInput<In = unknown> {
  originalInput: In;
  feedback: string | undefined;
}

export interface RefineOptions<In = unknown> {
  name: string;
  /** Produces an artifact from `{ originalInput, feedback }`. */
  generator: Pipeline | Step;
  /** Judges the artifact; returns a RefinementCheck. Any other output ends the loop and becomes the output. */
  critic: Pipeline | Step;
  /** Generations allowed; default 5, at least 1. Running out fails the loop with "reached max_loops". */
  maxRefinements?: number | undefined;
  /** Builds the next generation's input instead of `{ originalInput, feedback: check.feedback }`. */
  feedbackMapper?: ((originalInput: In, check: RefinementCheck) => unknown) | undefined;
}

export function isRefinementCheck(value: unknown): value is RefinementCheck {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { isComplete?: unknown }).isComplete === "boolean"
  );
}

/** The name Flujo gives the body step that records each generation's artifact. */
export const CAPTURE_STEP_NAME = "_capture_artifact";

/**
 * The loop of `Step.refineUntil`: generator >> capture >> critic until the critic says the artifact is
 * complete. The artifact and the original input are kept per execution (in the loop driver), never on
 * the step or in module state, so concurrent runs of one pipeline stay isolated.
 */
export class RefinementLoopStep extends LoopStep implements LoopDriverFactory {
  /** Index in the body of the capture step whose output is the current artifact. */
  readonly captureIndex: number;
  readonly feedbackMapper: RefineOptions["feedbackMapper"];

  constructor(options: {
    name: string;
    body: Pipeline;
    captureIndex: number;
    maxLoops: number;
    feedbackMapper: RefineOptions["feedbackMapper"];
  }) {
    super({ name: options.name, body: options.body, maxLoops: options.maxLoops });
    this.captureIndex = options.captureIndex;
    this.feedbackMapper = options.feedbackMapper;
    if (new.target === RefinementLoopStep) Object.freeze(this);
  }

  createLoopDriver(): LoopDriver {
    const captureIndex = this.captureIndex;
    const feedbackMapper = this.feedbackMapper;
    let originalInput: unknown;
    let artifact: unknown;
    return {
      maxLoops: this.maxLoops,
      initialInput: (input) => {
        originalInput = input;
        return { originalInput: input, feedback: undefined } satisfies RefinementInput;
      },
      observe: (result, stepIndex) => {
        if (stepIndex === captureIndex && result.success) artifact = result.output;
      },
      exitCondition: (output) => (isRefinementCheck(output) ? output.isComplete : true),
      iterationInput: (output) => {
        const check = output as RefinementCheck;
        if (feedbackMapper !== undefined) return feedbackMapper(originalInput, check);
        return { originalInput, feedback: check.feedback } satisfies RefinementInput;
      },
      // A complete check stands for the artifact it approved; anything else is passed on as it is.
      output: (output) => (isRefinementCheck(output) && output.isComplete ? artifact : output),
    };
  }
}

function buildRefinement(options: RefineOptions): Pipeline {
  if (typeof options !== "object" || options === null) {
    throw new ConfigurationError(`Step.refineUntil options must be an object, got ${describe(options)}`);
  }
  const name = options.name;
  if (typeof name !== "string" || name.length === 0) {
    throw new ConfigurationError(`Step name must be a non-empty string, got ${describe(name)}`);
  }
  const fail = (message: string) => new ConfigurationError(`refineUntil '${name}': ${message}`);
  const asPipeline = (field: "generator" | "critic"): Pipeline => {
    const value = options[field];
    if (value instanceof Pipeline) return value;
    if (value instanceof Step) return Pipeline.fromStep(value);
    throw fail(`${field} must be a Pipeline or a Step, got ${describe(value)}`);
  };
  const generator = asPipeline("generator");
  const critic = asPipeline("critic");
  if (generator.steps.length === 0) throw fail("generator has no steps");
  if (critic.steps.length === 0) throw fail("critic has no steps");
  const maxRefinements = options.maxRefinements ?? 5;
  if (!Number.isInteger(maxRefinements) || maxRefinements < 1) {
    throw fail(`maxRefinements must be an integer >= 1, got ${describe(maxRefinements)}`);
  }
  const feedbackMapper = options.feedbackMapper;
  if (feedbackMapper !== undefined && typeof feedbackMapper !== "function") {
    throw fail(`feedbackMapper must be a function, got ${describe(feedbackMapper)}`);
  }
  const capture = Step.fromCallable((artifact: unknown) => artifact, { name: CAPTURE_STEP_NAME });
  const loop = new RefinementLoopStep({
    name,
    body: generator.pipe(capture).pipe(critic),
    captureIndex: generator.steps.length,
    maxLoops: maxRefinements,
    feedbackMapper,
  });
  // The loop's output is already the approved artifact; this step keeps Flujo's pipeline shape
  // (the loop, then `{name}_output_mapper`) and passes it on.
  const outputMapper = Step.fromCallable((output: unknown) => output, { name: `${name}_output_mapper` });
  return Pipeline.fromStep(loop).pipe(outputMapper);
}

stepKinds.refineUntil = (options) => buildRefinement(options as RefineOptions);
