import { isolate, mergeInto } from "../../context/index.js";
import { errorMessage, UsageLimitExceededError } from "../../domain/errors.js";
import { PipelineResult, type StepResult, stepResult } from "../../domain/results.js";
import type { LoopStep } from "../../dsl/loop.js";
import type { Frame } from "../frame.js";
import type { Policy } from "../registry.js";

/**
 * Flujo's loop (flujo-behaviour.md §2.9). Each iteration runs on an isolated view of the context, merged
 * back with the default rules when the iteration ends, so changes carry forward; the executor cache is
 * off inside the body; attempts = iterations done.
 */
export const loopPolicy: Policy = async (frame, step, data) => {
  const loop = step as LoopStep;
  const start = performance.now();
  const name = loop.name;
  const body = loop.body.steps;
  const done = (fields: Partial<StepResult>) => {
    const r = stepResult(name, { branchContext: frame.context, ...fields });
    r.latencyS = (performance.now() - start) / 1000;
    return r;
  };
  if (body.length === 0) return done({ success: false, feedback: "LoopStep has empty pipeline" });

  let current = data;
  if (loop.initialInputMapper !== undefined) {
    try {
      current = await loop.initialInputMapper(data, frame.context);
    } catch (err) {
      return done({
        success: false,
        attempts: 0,
        feedback: `Error in initial_input_to_loop_body_mapper for LoopStep '${name}': ${errorMessage(err)}`,
        metadata: { exitReason: "initial_input_mapper_error", iterations: 0 },
      });
    }
  }

  const history: StepResult[] = [];
  let cost = 0;
  let tokens = 0;
  let lastFailure: string | undefined;
  let exitReason = "max_loops";
  let iterations = 0;
  for (let i = 1; i <= loop.maxLoops; i++) {
    const iteration = isolate(frame.context);
    const inner: Frame = { ...frame, context: iteration.view, inLoop: true, cacheEnabled: false };
    let iterationCost = 0;
    let iterationTokens = 0;
    try {
      for (const bodyStep of body) {
        const r = await frame.core.run(inner, bodyStep, current);
        history.push(r);
        iterationCost += r.costUsd;
        iterationTokens += r.tokenCounts;
        if (r.success) {
          current = r.output;
          continue;
        }
        lastFailure = r.feedback;
        // A single-step body keeps looping after a failure; a multi-step body stops at the first one.
        if (body.length > 1) {
          return done({
            success: false,
            attempts: i,
            costUsd: cost + iterationCost,
            tokenCounts: tokens + iterationTokens,
            feedback: `Loop body failed: ${r.feedback ?? ""}`,
            stepHistory: history,
            metadata: { exitReason: "body_step_error", iterations: i },
          });
        }
        if (r.output !== undefined) current = r.output;
      }
    } catch (err) {
      if (err instanceof UsageLimitExceededError) {
        // Only completed iterations are charged to the loop's result, as in Flujo.
        const partial = done({
          success: false,
          attempts: i - 1,
          costUsd: cost,
          tokenCounts: tokens,
          feedback: err.message,
          stepHistory: history,
          metadata: { exitReason: "quota_limit_exceeded", iterations: i - 1 },
        });
        throw new UsageLimitExceededError(err.message, new PipelineResult({ stepHistory: [partial] }));
      }
      throw err;
    }
    cost += iterationCost;
    tokens += iterationTokens;
    iterations = i;
    if (iteration.hasChanges()) mergeInto(frame.context, iteration.changes());

    if (loop.exitCondition !== undefined) {
      let exit: boolean;
      try {
        exit = await loop.exitCondition(current, frame.context);
      } catch (err) {
        return done({
          success: false,
          attempts: i,
          costUsd: cost,
          tokenCounts: tokens,
          output: current,
          feedback: `Exception in exit condition for LoopStep '${name}': ${errorMessage(err)}`,
          stepHistory: history,
          metadata: { exitReason: "exit_condition_error", iterations: i },
        });
      }
      if (exit) {
        exitReason = "condition";
        break;
      }
    }
    if (i < loop.maxLoops && loop.iterationInputMapper !== undefined) {
      try {
        current = await loop.iterationInputMapper(current, frame.context, i);
      } catch (err) {
        return done({
          success: false,
          attempts: i,
          costUsd: cost,
          tokenCounts: tokens,
          feedback: `Error in iteration_input_mapper for LoopStep '${name}': ${errorMessage(err)}`,
          stepHistory: history,
          metadata: { exitReason: "iteration_input_mapper_error", iterations: i },
        });
      }
    }
  }

  let output = current;
  if (loop.loopOutputMapper !== undefined) {
    try {
      output = await loop.loopOutputMapper(current, frame.context);
    } catch (err) {
      return done({
        success: false,
        attempts: iterations,
        costUsd: cost,
        tokenCounts: tokens,
        output: current,
        feedback: errorMessage(err),
        stepHistory: history,
        metadata: { exitReason: "loop_output_mapper_error", iterations },
      });
    }
  }
  const byCondition = exitReason === "condition";
  const success = byCondition && lastFailure === undefined;
  return done({
    output,
    success,
    attempts: iterations,
    costUsd: cost,
    tokenCounts: tokens,
    feedback: byCondition
      ? lastFailure === undefined
        ? "loop exited by condition"
        : `Loop body failed: ${lastFailure}`
      : "reached max_loops",
    stepHistory: history,
    metadata: { exitReason, iterations },
  });
};
