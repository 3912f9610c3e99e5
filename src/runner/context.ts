import { defaultPipelineContext, newRunId, type PipelineContext } from "../domain/context.js";
import { errorMessage, PipelineContextInitializationError } from "../domain/errors.js";
import type { Schema } from "../dsl/types.js";
import {
  formatIssues,
  issueFields,
  type SchemaIssue,
  validateContext,
} from "../executor/policies/effects.js";

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Builds a run's context: Flujo's PipelineContext defaults, then the runner's and the call's initial data
 * (copied, so runs never share mutable initial data), then the user schema's validation and defaults.
 */
export function buildRunContext(
  input: unknown,
  runnerData: Record<string, unknown> | undefined,
  callData: Record<string, unknown> | undefined,
  runId: string | undefined,
  schema: Schema | undefined,
  schemaName: string,
): PipelineContext | Promise<PipelineContext> {
  const merged: Record<string, unknown> = {};
  for (const source of [runnerData, callData]) {
    if (source === undefined) continue;
    if (typeof source !== "object" || source === null || Array.isArray(source)) {
      throw new PipelineContextInitializationError(
        `initialContextData must be a plain object, got ${typeof source}`,
      );
    }
    for (const key of Object.keys(source)) {
      if (!FORBIDDEN_KEYS.has(key)) merged[key] = source[key];
    }
  }
  if ("scratchpad" in merged) {
    throw new PipelineContextInitializationError(
      "'scratchpad' has been removed; use typed context fields instead.",
    );
  }
  let copied: Record<string, unknown> = merged;
  try {
    if (runnerData !== undefined || callData !== undefined) copied = structuredClone(merged);
  } catch (err) {
    throw new PipelineContextInitializationError(
      `initialContextData must be plain data (it is copied for each run): ${errorMessage(err)}`,
    );
  }
  const id = runId ?? (typeof copied.runId === "string" ? copied.runId : newRunId());
  const ctx = defaultPipelineContext(id);
  if (!("initialPrompt" in copied)) ctx.initialPrompt = promptOf(input);
  for (const key of Object.keys(copied)) ctx[key] = copied[key];
  ctx.runId = id;
  if (schema === undefined) {
    ctx.status = "running";
    return ctx;
  }
  // Without waiting when the schema validates synchronously (zod does): the runner then starts the run
  // without an async frame.
  const issues = validateContext(schema, ctx);
  return issues instanceof Promise
    ? issues.then((i) => validated(ctx, i, schemaName))
    : validated(ctx, issues, schemaName);
}

function validated(
  ctx: PipelineContext,
  issues: readonly SchemaIssue[] | undefined,
  schemaName: string,
): PipelineContext {
  if (issues !== undefined) {
    throw new PipelineContextInitializationError(
      `Failed to initialize context with model ${schemaName} and initial data. ${formatIssues(issues)}`,
      { fields: issueFields(issues) },
    );
  }
  ctx.status = "running";
  return ctx;
}

function promptOf(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  if (typeof input === "string") return input;
  try {
    return JSON.stringify(input) ?? String(input);
  } catch {
    return String(input);
  }
}
