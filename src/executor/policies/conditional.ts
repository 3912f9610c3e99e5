import { isolate, mergeInto } from "../../context/index.js";
import {
  errorMessage,
  isControlError,
  PausedException,
  PipelineAbortSignal,
  UsageLimitExceededError,
} from "../../domain/errors.js";
import { PipelineResult, type StepResult, stepResult } from "../../domain/results.js";
import type { ConditionalStep } from "../../dsl/conditional.js";
import { describe } from "../../dsl/config.js";
import type { Pipeline } from "../../dsl/pipeline.js";
import { now } from "../clock.js";
import type { Frame } from "../frame.js";
import type { Policy } from "../registry.js";

/**
 * Flujo's ConditionalStep (flujo-behaviour.md §2.10). The condition and the input mapper see the step's
 * input and the live context; the branch runs step by step on an isolated view of the context, stops
 * at its first failure, and its context is merged back only when it (and the output mapper) succeed.
 * Pauses, aborts, usage-limit breaches and the engine's other control errors propagate.
 */
export const conditionalPolicy: Policy = async (frame, step, data) => {
  const cond = step as ConditionalStep;
  const start = now();
  const live = frame.context;
  const metadata: Record<string, unknown> = {};
  const history: StepResult[] = [];
  let cost = 0;
  let tokens = 0;
  const done = (fields: Partial<StepResult>): StepResult => {
    const r = stepResult(cond.name, {
      attempts: 1,
      costUsd: cost,
      tokenCounts: tokens,
      branchContext: live,
      metadata,
      stepHistory: history,
      ...fields,
    });
    r.latencyS = (now() - start) / 1000;
    return r;
  };

  try {
    let key: unknown = cond.condition(data, live);
    if (isThenable(key)) key = await key;
    metadata.executedBranchKey = key;
    const found = resolveBranch(cond, key);
    if (found === undefined) {
      return done({
        success: false,
        feedback: `No branch found for key '${keyText(key)}' and no default branch provided`,
      });
    }
    if (found.resolvedKey !== undefined) metadata.resolvedBranchKey = found.resolvedKey;

    let current: unknown = data;
    if (cond.branchInputMapper !== undefined) {
      current = cond.branchInputMapper(data, live);
      if (isThenable(current)) current = await current;
    }
    const branch = isolate(live);
    let inner: Frame = { ...frame, context: branch.view };
    if (inner.observer !== undefined) inner = inner.observer.branch(inner, keyText(found.resolvedKey ?? key));
    for (const branchStep of found.branch.steps) {
      let r: StepResult;
      try {
        r = await frame.core.run(inner, branchStep, current);
      } catch (err) {
        if (err instanceof PausedException || err instanceof PipelineAbortSignal) {
          // As in Flujo, what the branch did before pausing reaches the parent, so a resume sees it.
          if (branch.hasChanges()) mergeInto(live, branch.changes());
        } else if (err instanceof UsageLimitExceededError) {
          throw breach(err, done, history);
        }
        throw err;
      }
      history.push(r);
      cost += r.costUsd;
      tokens += r.tokenCounts;
      if (!r.success) {
        return done({
          success: false,
          costUsd: cost,
          tokenCounts: tokens,
          feedback: `Failure in branch '${keyText(key)}': ${r.feedback || "Step execution failed"}`,
        });
      }
      current = r.output;
    }

    let output = current;
    if (cond.branchOutputMapper !== undefined) {
      try {
        output = cond.branchOutputMapper(current, key, branch.view);
        if (isThenable(output)) output = await output;
      } catch (err) {
        if (isControlError(err)) throw err;
        return done({
          success: false,
          costUsd: cost,
          tokenCounts: tokens,
          feedback: `Branch output mapper raised an exception: ${errorMessage(err)}`,
        });
      }
    }
    if (branch.hasChanges()) mergeInto(live, branch.changes());
    // The branch's changes are in the parent context now; its results stop pinning the spent view.
    for (const r of history) if (r.branchContext === branch.view) r.branchContext = live;
    return done({ success: true, output, costUsd: cost, tokenCounts: tokens });
  } catch (err) {
    if (isControlError(err)) throw err;
    return done({
      success: false,
      costUsd: cost,
      tokenCounts: tokens,
      feedback: `Error executing conditional logic or branch: ${errorMessage(err)}`,
    });
  }
};

interface Resolved {
  branch: Pipeline;
  /** The branch key used, when it is not the evaluated key's own spelling. */
  resolvedKey: string | undefined;
}

/**
 * Flujo's resolution order: the exact key (a boolean or number key reads as its string, which is how
 * JavaScript spells `{ true: p }`), then the default branch, then a case-insensitive match of the key's
 * text, first in the branches' key order.
 */
function resolveBranch(cond: ConditionalStep, key: unknown): Resolved | undefined {
  const text = keyString(key);
  const branches = cond.branches;
  if (text !== undefined && Object.hasOwn(branches, text))
    return { branch: branches[text], resolvedKey: undefined };
  if (cond.defaultBranch !== undefined) return { branch: cond.defaultBranch, resolvedKey: undefined };
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  for (const candidate of Object.keys(branches)) {
    if (candidate.toLowerCase() === lower) return { branch: branches[candidate], resolvedKey: candidate };
  }
  return undefined;
}

function keyString(key: unknown): string | undefined {
  switch (typeof key) {
    case "string":
      return key;
    case "number":
    case "boolean":
    case "bigint":
      return String(key);
    default:
      return undefined;
  }
}

function keyText(key: unknown): string {
  return keyString(key) ?? describe(key);
}

/** The breach re-raised with this step's result (branch results so far, plus the breaching step's usage). */
function breach(
  err: UsageLimitExceededError,
  done: (fields: Partial<StepResult>) => StepResult,
  history: StepResult[],
): UsageLimitExceededError {
  const inner = err.result?.stepHistory ?? [];
  let cost = 0;
  let tokens = 0;
  for (const r of history) {
    cost += r.costUsd;
    tokens += r.tokenCounts;
  }
  for (const r of inner) {
    cost += r.costUsd;
    tokens += r.tokenCounts;
  }
  const partial = done({
    success: false,
    costUsd: cost,
    tokenCounts: tokens,
    feedback: err.message,
    stepHistory: [...history, ...inner],
  });
  return new UsageLimitExceededError(err.message, new PipelineResult({ stepHistory: [partial] }));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}
