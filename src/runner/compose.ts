import { unwrap } from "../context/index.js";
import {
  ContextInheritanceError,
  errorMessage,
  PausedException,
  PipelineContextInitializationError,
} from "../domain/errors.js";
import type { PipelineResult } from "../domain/results.js";
import { composers } from "../dsl/pipeline.js";
import { Step } from "../dsl/step.js";
import { Flujo } from "./flujo.js";

export interface AsStepOptions {
  /** Start the sub-run from a copy of the parent's context, and write its final fields back. Default true. */
  inheritContext?: boolean;
}

/** Fields of the parent context that belong to the parent run and never seed a child run. */
const RUN_OWNED = new Set(["runId", "status", "pauseMessage", "pipelineName", "pipelineVersion"]);

/**
 * Flujo's `as_step`: a step that runs another runner's whole pipeline. Its output is the child's
 * PipelineResult and its cost and tokens are the child's totals, so usage aggregates upward. With context
 * inheritance the child starts from the parent's fields and its final fields are written back to the parent
 * (through the step's isolated view, so they merge like any step's changes). A child context schema that the
 * parent's fields do not satisfy fails the step with a ContextInheritanceError naming the missing fields.
 */
export function asStep<In, Out>(
  runner: Flujo<In, Out>,
  name: string,
  options: AsStepOptions = {},
): Step<In, PipelineResult> {
  const inherit = options.inheritContext ?? true;
  return Step.fromCallable(
    async (input: In, { context, signal }) => {
      const initialContextData: Record<string, unknown> = {};
      if (inherit) {
        for (const key of Object.keys(context)) {
          const value = context[key];
          // Values read through the step's view are proxies; the child gets plain data (which it copies).
          if (!RUN_OWNED.has(key) && value !== undefined) initialContextData[key] = unwrap(value);
        }
        if (initialContextData.initialPrompt === undefined && typeof input === "string")
          initialContextData.initialPrompt = input;
      }
      let child: PipelineResult;
      try {
        child = await runner.run(input, { initialContextData, signal });
      } catch (err) {
        if (inherit && err instanceof PipelineContextInitializationError)
          throw inheritanceError(name, err, initialContextData);
        throw err;
      }
      if (child.status === "paused")
        throw new PausedException(String(child.finalPipelineContext?.pauseMessage ?? "Paused for HITL"));
      if (inherit && child.finalPipelineContext !== undefined) {
        for (const [key, value] of Object.entries(child.finalPipelineContext)) {
          if (!RUN_OWNED.has(key) && value !== undefined && value !== null) context[key] = value;
        }
      }
      if (!child.success) {
        const failed = child.stepHistory.find((r) => !r.success);
        throw new Error(
          `Sub-pipeline '${name}' failed${failed ? ` at step '${failed.name}': ${failed.feedback ?? ""}` : ""}`,
        );
      }
      return { output: child, costUsd: child.totalCostUsd, tokenCounts: child.totalTokens };
    },
    // One attempt: a failed child run is not retried as a whole.
    { name, maxRetries: 0 },
  ) as unknown as Step<In, PipelineResult>;
}

function inheritanceError(
  name: string,
  err: PipelineContextInitializationError,
  data: Record<string, unknown>,
): ContextInheritanceError {
  const missing = err.fields.filter((field) => !(field in data));
  return new ContextInheritanceError(
    `Failed to inherit context for step '${name}': Missing required fields: ${missing.join(", ") || "none"}. ${errorMessage(err)}`,
    missing,
    Object.keys(data),
    "contextSchema",
  );
}

composers.asStep = (pipeline, name, options) => asStep(new Flujo(pipeline), name, options) as unknown as Step;
