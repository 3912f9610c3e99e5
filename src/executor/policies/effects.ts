import type { StandardSchemaV1 } from "@standard-schema/spec";
import { applyOutputToContext, setPath } from "../../context/index.js";
import { errorMessage } from "../../domain/errors.js";
import type { Step } from "../../dsl/step.js";
import type { Schema } from "../../dsl/types.js";
import type { Awaitable } from "../../state/backend.js";
import { noteStepOutput } from "../../state/patch.js";
import type { Ctx, Frame } from "../frame.js";

/**
 * Results whose step changed the context while it ran. The executor cache skips them: a cache hit can
 * replay what follows from the output (sinkTo, updatesContext, stepOutputs) but not the agent's own writes.
 */
export const wroteContext = new WeakSet<object>();

/**
 * What a successful output does to the live context: `sinkTo`, `updatesContext` (validated against the
 * context schema, rolled back on failure) and `stepOutputs[name]`. Returns a failure feedback, or undefined.
 * Shared by fresh results and cache hits so both leave the context in the same state.
 */
export function applyOutputEffects(
  frame: Frame,
  step: Step,
  output: unknown,
): string | undefined | Promise<string | undefined> {
  const ctx = frame.context;
  if (step.sinkTo === undefined && !step.updatesContext) {
    recordStepOutput(ctx, step.name, output);
    return undefined;
  }
  return applyAllEffects(frame, step, output);
}

async function applyAllEffects(frame: Frame, step: Step, output: unknown): Promise<string | undefined> {
  const ctx = frame.context;
  if (step.sinkTo !== undefined) {
    try {
      setPath(ctx, step.sinkTo, output);
    } catch (err) {
      frame.core.logger.warn(`Step '${step.name}': sinkTo '${step.sinkTo}' failed: ${errorMessage(err)}`);
    }
  }
  if (step.updatesContext) {
    const update = applyOutputToContext(ctx, output);
    if (update.applied && frame.contextSchema !== undefined) {
      const issues = await validateContext(frame.contextSchema, ctx);
      if (issues !== undefined) {
        update.rollback();
        return `Context validation failed: ${formatIssues(issues)}`;
      }
    }
  }
  recordStepOutput(ctx, step.name, output);
  return undefined;
}

/**
 * The one in-place write the engine makes below the top level of a live context: copying `stepOutputs`
 * for every step would make long runs quadratic. Durable state is told about it (state/patch.ts).
 */
export function recordStepOutput(ctx: Ctx, name: string, output: unknown): void {
  let outputs = ctx.stepOutputs as Record<string, unknown> | undefined;
  if (outputs === undefined || outputs === null || typeof outputs !== "object") {
    outputs = {};
    ctx.stepOutputs = outputs;
  }
  outputs[name] = output;
  noteStepOutput(ctx, name);
}

/**
 * Validates a context against a Standard Schema. On success the schema's parsed values are written back
 * (so coercions and defaults apply); on failure returns the issues as one line.
 */
export function validateContext(schema: Schema, ctx: Ctx): Awaitable<readonly SchemaIssue[] | undefined> {
  const outcome = schema["~standard"].validate(ctx);
  return outcome instanceof Promise ? outcome.then((o) => applyOutcome(o, ctx)) : applyOutcome(outcome, ctx);
}

/** The schema's issues, or its parsed value's fields written into the context (defaults, coercions). */
function applyOutcome(
  outcome: StandardSchemaV1.Result<unknown>,
  ctx: Ctx,
): readonly SchemaIssue[] | undefined {
  if (outcome.issues !== undefined) return outcome.issues;
  const parsed = outcome.value;
  if (typeof parsed === "object" && parsed !== null && parsed !== ctx) {
    for (const key of Object.keys(parsed)) {
      if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
      const value = (parsed as Ctx)[key];
      if (ctx[key] !== value) ctx[key] = value;
    }
  }
  return undefined;
}

export type SchemaIssue = {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> | undefined;
};

/** The top-level context fields named by schema issues (for "Missing required fields: ..."). */
export function issueFields(issues: readonly SchemaIssue[]): string[] {
  const fields = issues.map((i) => i.path?.[0]).map((p) => String(typeof p === "object" ? p.key : p));
  return [...new Set(fields.filter((f) => f !== "undefined"))];
}

export function formatIssues(
  issues: ReadonlyArray<{
    message: string;
    path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> | undefined;
  }>,
): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
