import { hasOwn, isNone, isPlainObject } from "../../context/containers.js";
import { isolate, mergeInto } from "../../context/index.js";
import { errorMessage, PausedException } from "../../domain/errors.js";
import { type StepResult, stepResult } from "../../domain/results.js";
import type { StateMachineStep, TransitionPayload } from "../../dsl/stateMachine.js";
import type { Ctx, Frame } from "../frame.js";
import type { Policy } from "../registry.js";
import { runSteps, type StepsRun } from "./parallel.js";

/**
 * Flujo's state machine (flujo-behaviour.md §2.14). Each hop runs the current state's pipeline on an
 * isolated view of the context with the executor cache off (every step runs, even after a failed one),
 * merges the view back, and picks the next state: first matching transition, else the context's
 * `nextState`, else a `nextState` key in one of the state's outputs, else stop. The step itself always
 * succeeds with no output; what happened is in its stepHistory and the context.
 */
export const stateMachinePolicy: Policy = async (frame, step, data) => {
  const sm = step as StateMachineStep;
  const ctx = frame.context;
  let current = typeof ctx.currentState === "string" ? ctx.currentState : sm.startState;
  ctx.currentState = current;
  const history: StepResult[] = [];
  let cost = 0;
  let tokens = 0;
  let latency = 0;
  const inner: Frame = { ...frame, cacheEnabled: false };
  const maxHops = Math.max(1, 10 * Object.keys(sm.states).length);

  for (let hop = 0; hop < maxHops; hop++) {
    if (sm.endStates.includes(current)) break;
    const pipeline = hasOwn(sm.states, current) ? sm.states[current] : undefined;
    if (pipeline === undefined) {
      return stepResult(sm.name, {
        success: false,
        feedback: `Unknown state: ${current}`,
        costUsd: cost,
        tokenCounts: tokens,
        latencyS: latency,
        branchContext: ctx,
        stepHistory: history,
      });
    }
    ctx.currentState = current;
    const iteration = isolate(ctx);
    let run: StepsRun;
    try {
      run = await runSteps({ ...inner, context: iteration.view }, pipeline.steps, data, true);
    } catch (err) {
      if (err instanceof PausedException) {
        // The paused state's context is not merged; the "pause" transition says where to resume.
        const payload: TransitionPayload = { event: "pause", lastOutput: undefined, lastStep: undefined };
        const target = await transition(frame, sm, current, payload, iteration.view);
        if (target !== undefined) {
          ctx.currentState = target;
          ctx.nextState = target;
          ctx.pauseMessage = err.message;
        }
        ctx.status = "paused";
        if (isNone(ctx.pauseMessage)) ctx.pauseMessage = err.message;
      }
      throw err;
    }
    cost += run.costUsd;
    tokens += run.tokens;
    latency += run.latencyS;
    if (run.history.length === 0) history.push(stepResult(current, { success: true, attempts: 1 }));
    else for (const r of run.history) history.push(r);

    const view = iteration.view;
    const intendedNext = typeof view.nextState === "string" ? view.nextState : undefined;
    const intendedCurrent = typeof view.currentState === "string" ? view.currentState : current;
    if (iteration.hasChanges()) mergeInto(ctx, iteration.changes());
    if (intendedNext !== undefined) ctx.nextState = intendedNext;
    ctx.currentState = intendedCurrent;

    const last = run.history[run.history.length - 1];
    const payload: TransitionPayload = {
      event: last === undefined || last.success ? "success" : "failure",
      lastOutput: last?.output,
      lastStep: { name: last?.name, success: last?.success, feedback: last?.feedback },
    };
    let next = await transition(frame, sm, current, payload, ctx);
    if (next !== undefined) {
      ctx.nextState = next;
      ctx.currentState = next;
    } else if (typeof ctx.nextState === "string") {
      next = ctx.nextState;
    } else {
      for (let i = run.history.length - 1; i >= 0; i--) {
        const out = run.history[i].output;
        if (isPlainObject(out) && typeof out.nextState === "string") {
          next = out.nextState;
          ctx.nextState = next;
          if (isNone(ctx.currentState)) ctx.currentState = next;
          break;
        }
      }
    }
    if (next === undefined) break;
    current = next;
  }

  ctx.currentState = current;
  if (typeof ctx.nextState !== "string") ctx.nextState = current;
  return stepResult(sm.name, {
    output: undefined,
    success: true,
    attempts: 1,
    latencyS: latency,
    tokenCounts: tokens,
    costUsd: cost,
    branchContext: ctx,
    stepHistory: history,
  });
};

/** The first rule for this state (or "*") and event whose `when` holds; a throwing `when` is skipped. */
async function transition(
  frame: Frame,
  sm: StateMachineStep,
  from: string,
  payload: TransitionPayload,
  context: Ctx,
): Promise<string | undefined> {
  for (const rule of sm.transitions) {
    if (rule.on !== payload.event || (rule.from !== "*" && rule.from !== from)) continue;
    if (rule.when !== undefined) {
      let ok: unknown;
      try {
        ok = rule.when(payload, context);
        if (ok instanceof Promise) ok = await ok;
      } catch (err) {
        frame.core.logger.warn(
          `StateMachineStep '${sm.name}': when() of the transition from '${rule.from}' on ${rule.on} failed; skipping it: ${errorMessage(err)}`,
        );
        ok = false;
      }
      if (!ok) continue;
    }
    return rule.to;
  }
  return undefined;
}
