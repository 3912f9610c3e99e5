import { isolate, mergeInto } from "../../context/index.js";
import { errorMessage, PausedException, UsageLimitExceededError } from "../../domain/errors.js";
import { PipelineResult, type StepResult, stepResult } from "../../domain/results.js";
import type { LoopStep } from "../../dsl/loop.js";
import { ENGINE_SLOTS } from "../../dsl/step.js";
import { now } from "../clock.js";
import type { Ctx, Frame } from "../frame.js";
import type { Policy } from "../registry.js";
import { takeLoopResume } from "./hitl.js";

/**
 * What one execution of a loop does between iterations. A LoopStep's driver is its own callbacks; a
 * MapStep or a refinement loop builds a fresh driver per execution, so its state (items, results, the
 * captured artifact) lives in that execution only and concurrent runs never share it.
 *
 * The callbacks are called as plain functions (no `this`), and may return promises. Errors keep Flujo's
 * wording of the LoopStep callback they stand for.
 */
export interface LoopDriver {
  /** Iterations allowed; read once, after `initialInput`. 0 ends the loop at once, by condition. */
  readonly maxLoops: number;
  /** The first iteration's input from the loop's input; runs once. */
  readonly initialInput?: ((input: unknown, context: Ctx) => unknown) | undefined;
  /** True ends the loop after an iteration, with exitReason "condition". */
  readonly exitCondition?: ((output: unknown, context: Ctx) => unknown) | undefined;
  /** The next iteration's input; `iteration` is the number of iterations done; not called after the last. */
  readonly iterationInput?: ((output: unknown, context: Ctx, iteration: number) => unknown) | undefined;
  /** The loop's output from the last iteration's output. */
  readonly output?: ((output: unknown, context: Ctx) => unknown) | undefined;
  /** Sees each body step's result as it completes (`stepIndex` into the body). */
  readonly observe?: ((result: StepResult, stepIndex: number) => void) | undefined;
}

/** A LoopStep subclass with per-execution state implements this; the loop policy calls it once per run of the step. */
export interface LoopDriverFactory {
  createLoopDriver(): LoopDriver;
}

/** A plain LoopStep's driver: its own callbacks, built once per step. */
function driverOf(loop: LoopStep): LoopDriver {
  const factory = (loop as Partial<LoopDriverFactory>).createLoopDriver;
  if (typeof factory === "function") return factory.call(loop);
  const slots = loop[ENGINE_SLOTS];
  let driver = slots.loopDriver as LoopDriver | undefined;
  if (driver === undefined) {
    driver = {
      maxLoops: loop.maxLoops,
      initialInput: loop.initialInputMapper as LoopDriver["initialInput"],
      exitCondition: loop.exitCondition,
      iterationInput: loop.iterationInputMapper,
      output: loop.loopOutputMapper,
    };
    slots.loopDriver = driver;
  }
  return driver;
}

/** Flujo's loop (flujo-behaviour.md §2.9). */
export const loopPolicy: Policy = (frame, step, data) => {
  const loop = step as LoopStep;
  // Only a plain LoopStep's state fits in a LoopPause; drivers with their own state restart on resume.
  const resumable = typeof (loop as Partial<LoopDriverFactory>).createLoopDriver !== "function";
  return runLoop(frame, loop, data, driverOf(loop), resumable);
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * The iteration engine shared by LoopStep, MapStep and refineUntil. Each iteration runs on an isolated
 * view of the context, merged back with the default rules when the iteration ends, so changes carry
 * forward; the executor cache is off inside the body; attempts = iterations done. A single-step body
 * keeps looping after a failure (the loop then fails with "Loop body failed"); a multi-step body stops
 * the loop at its first failed step. Work per iteration is O(1) apart from the body itself: results are
 * appended, never copied.
 */
export async function runLoop(
  frame: Frame,
  loop: LoopStep,
  data: unknown,
  driver: LoopDriver,
  resumable = false,
): Promise<StepResult> {
  const start = now();
  const name = loop.name;
  const body = loop.body.steps;
  const live = frame.context;
  const done = (fields: Partial<StepResult>): StepResult => {
    const r = stepResult(name, { branchContext: live, ...fields });
    r.latencyS = (now() - start) / 1000;
    return r;
  };
  if (body.length === 0)
    return done({
      success: false,
      output: data,
      feedback: "LoopStep has empty pipeline",
      metadata: { exitReason: "empty_pipeline", iterations: 0 },
    });

  // A resumed run re-enters the loop where a body step paused (runner.resume; see policies/hitl.ts).
  const resumed = resumable ? takeLoopResume(frame, name, body.length) : undefined;
  let current = data;
  if (driver.initialInput !== undefined && resumed === undefined) {
    try {
      current = driver.initialInput(data, live);
      if (isThenable(current)) current = await current;
    } catch (err) {
      return done({
        success: false,
        attempts: 0,
        feedback: `Error in initial_input_to_loop_body_mapper for LoopStep '${name}': ${errorMessage(err)}`,
        metadata: { exitReason: "initial_input_mapper_error", iterations: 0 },
      });
    }
  }

  const maxLoops = driver.maxLoops;
  const { exitCondition, iterationInput, observe } = driver;
  const multiStep = body.length > 1;
  const history: StepResult[] = [];
  let cost = resumed?.costUsd ?? 0;
  let tokens = resumed?.tokens ?? 0;
  let failed = false;
  let lastFailure: string | undefined;
  let exitReason = maxLoops === 0 ? "condition" : "max_loops";
  let iterations = resumed === undefined ? 0 : resumed.iteration - 1;
  let firstStep = resumed?.stepIndex ?? 0;
  const innerBase: Frame = { ...frame, inLoop: true, cacheEnabled: false };
  for (let i = resumed?.iteration ?? 1; i <= maxLoops; i++) {
    // A multi-step body runs on an iteration copy, dropped when a step fails (Flujo). A single-step body
    // needs none: its step isolates each attempt and merges it with the same default rules the
    // iteration merge would apply, and Flujo merges a single-step iteration even when it failed. Skipping
    // the copy is what makes an iteration cost about one step (bench/loop.ts).
    const iteration = multiStep ? isolate(live) : undefined;
    let inner: Frame = iteration === undefined ? innerBase : { ...innerBase, context: iteration.view };
    if (inner.observer !== undefined) inner = inner.observer.iteration(inner, i);
    let iterationCost = 0;
    let iterationTokens = 0;
    let s = firstStep;
    firstStep = 0;
    try {
      for (; s < body.length; s++) {
        const r = await frame.core.run(inner, body[s], current);
        history.push(r);
        iterationCost += r.costUsd;
        iterationTokens += r.tokenCounts;
        if (observe !== undefined) observe(r, s);
        if (r.success) {
          current = r.output;
          continue;
        }
        failed = true;
        lastFailure = r.feedback;
        if (multiStep) {
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
      if (err instanceof PausedException) {
        // Keep what this iteration did before the pause, and where it stopped, for runner.resume.
        if (iteration?.hasChanges()) mergeInto(live, iteration.changes());
        if (resumable) {
          err.loops.push({
            loop: name,
            iteration: i,
            stepIndex: s,
            stepName: body[s].name,
            lastOutput: current,
            costUsd: cost + iterationCost,
            tokens: tokens + iterationTokens,
          });
        }
        throw err;
      }
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
    if (iteration !== undefined) {
      if (iteration.hasChanges()) mergeInto(live, iteration.changes());
      // The iteration's changes are in the loop's context now: its body results point there instead of
      // keeping the spent view (and everything it copied) alive for as long as the history lives.
      for (let k = history.length - 1; k >= 0 && history[k].branchContext === iteration.view; k--)
        history[k].branchContext = live;
    }

    if (exitCondition !== undefined) {
      let exit: unknown;
      try {
        exit = exitCondition(current, live);
        if (isThenable(exit)) exit = await exit;
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
    if (i < maxLoops && iterationInput !== undefined) {
      try {
        current = iterationInput(current, live, i);
        if (isThenable(current)) current = await current;
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
  if (driver.output !== undefined) {
    try {
      output = driver.output(current, live);
      if (isThenable(output)) output = await output;
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
  const success = byCondition && !failed;
  return done({
    output,
    success,
    attempts: iterations,
    costUsd: cost,
    tokenCounts: tokens,
    feedback: byCondition
      ? failed
        ? `Loop body failed: ${lastFailure ?? ""}`
        : "loop exited by condition"
      : "reached max_loops",
    stepHistory: history,
    metadata: { exitReason, iterations },
  });
}
