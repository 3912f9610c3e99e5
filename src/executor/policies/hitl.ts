import { isIsolatedView, unwrap } from "../../context/index.js";
import type { ConversationTurn } from "../../domain/context.js";
import {
  errorMessage,
  HumanInputValidationError,
  type LoopPause,
  PausedException,
} from "../../domain/errors.js";
import { type StepResult, stepResult } from "../../domain/results.js";
import type { HumanInTheLoopStep } from "../../dsl/hitl.js";
import type { Step } from "../../dsl/step.js";
import type { Ctx, Frame } from "../frame.js";
import type { Policy } from "../registry.js";
import { applyOutputEffects, formatIssues } from "./effects.js";

/**
 * Flujo's human-in-the-loop step (flujo-behaviour.md §2.13). On a first visit it records the pause in the
 * context (status "paused", pauseMessage, pausedStepInput, hitlData.lastHitlStep, an assistant turn) and
 * throws PausedException; the runner returns a paused result. When a resumed run re-enters the step that
 * paused (inside a loop or a branch), the human's answer in the frame's resume cursor is its output.
 */
export const hitlPolicy: Policy = async (frame, step, data) => {
  const cursor = frame.resume;
  if (cursor !== undefined) {
    // A step re-run from its start meets the HITL steps it passed before, in the same order.
    const replayed = cursor.replay[0];
    if (replayed !== undefined) {
      if (replayed.step === step.name) {
        cursor.replay.shift();
        cursor.consumed.push(replayed);
        return applyHumanInput(frame, step, replayed.answer);
      }
      cursor.replay.length = 0;
    }
    if (cursor.pending && cursor.hitlStep === step.name) {
      cursor.pending = false;
      cursor.consumed.push({ step: step.name, answer: cursor.input });
      return applyHumanInput(frame, step, cursor.input);
    }
  }
  const ctx = frame.context;
  const hitl = step as HumanInTheLoopStep;
  let message: string;
  try {
    message = renderMessage(hitl, data, ctx);
  } catch (err) {
    return stepResult(step.name, {
      success: false,
      attempts: 1,
      feedback: `messageForUser of step '${step.name}' failed: ${errorMessage(err)}`,
    });
  }
  const input = plain(data);
  ctx.status = "paused";
  ctx.pauseMessage = message;
  ctx.pausedStepInput = input;
  ctx.hitlData = { lastHitlStep: step.name };
  appendTurn(ctx, "assistant", message);
  throw new PausedException(message, { stepName: step.name, stepInput: input });
};

/**
 * The human's answer as the output of a HITL step: a successful result with attempts 1, and the answer's
 * effects on the context (sinkTo, updatesContext, stepOutputs). Used by the runner for a top-level HITL
 * step and by the policy when a resumed run re-enters a nested one.
 */
export async function applyHumanInput(frame: Frame, step: Step, answer: unknown): Promise<StepResult> {
  const result = stepResult(step.name, {
    output: answer,
    success: true,
    attempts: 1,
    branchContext: frame.context,
  });
  let failure = applyOutputEffects(frame, step, answer);
  if (failure instanceof Promise) failure = await failure;
  if (failure !== undefined) {
    result.success = false;
    result.feedback = failure;
  }
  return result;
}

/**
 * Checks a human answer against the HITL step's inputSchema and returns the schema's output. Throws
 * HumanInputValidationError (naming the step and the issues) when the schema rejects it.
 */
export async function parseHumanInput(step: Step, answer: unknown): Promise<unknown> {
  const schema = step.inputSchema;
  if (schema === undefined) return answer;
  let outcome = schema["~standard"].validate(answer);
  if (outcome instanceof Promise) outcome = await outcome;
  if (outcome.issues !== undefined) {
    throw new HumanInputValidationError(
      `Human input for step '${step.name}' does not match its inputSchema: ${formatIssues(outcome.issues)}`,
      step.name,
      outcome.issues,
    );
  }
  return outcome.value;
}

/** The loop entry a resumed run left for `loopName`, if the next one (outermost first) is its own. */
export function takeLoopResume(frame: Frame, loopName: string, bodyLength: number): LoopPause | undefined {
  const cursor = frame.resume;
  const loops = cursor?.loops;
  if (cursor === undefined || loops === undefined || loops.length === 0) return undefined;
  const entry = loops[loops.length - 1];
  if (entry.loop !== loopName || entry.stepIndex >= bodyLength) return undefined;
  loops.pop();
  // The loop goes on where it stopped: nothing before that point runs again, so nothing is replayed.
  cursor.replay.length = 0;
  cursor.consumed.length = 0;
  return entry;
}

/** Appends a conversation turn unless the last turn already says the same thing. */
export function appendTurn(ctx: Ctx, role: ConversationTurn["role"], content: string): void {
  if (content === "") return;
  const history = Array.isArray(ctx.conversationHistory)
    ? (ctx.conversationHistory as ConversationTurn[])
    : [];
  const last = history[history.length - 1];
  if (last !== undefined && last.content === content) return;
  ctx.conversationHistory = [...history, { role, content }];
}

/** A value as conversation text: strings as they are, other values as JSON when they have one. */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function renderMessage(step: HumanInTheLoopStep, data: unknown, ctx: Ctx): string {
  const message = step.messageForUser;
  if (typeof message === "function") return String(message(data, ctx));
  if (typeof message === "string") return message;
  return asText(plain(data)) || "Paused for HITL";
}

function plain(value: unknown): unknown {
  return typeof value === "object" && value !== null && isIsolatedView(value) ? unwrap(value) : value;
}
