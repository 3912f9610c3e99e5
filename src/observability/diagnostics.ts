import type { PipelineResult, StepResult } from "../domain/results.js";

/** A short, single-line text of a value for spans and diagnostics; never throws. */
export function preview(value: unknown, max = 200): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (value === undefined) text = "undefined";
  else if (typeof value === "function") text = `[function ${value.name || "anonymous"}]`;
  else if (typeof value === "bigint") text = `${value}n`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What a failed step carries in `metadata.diagnostics` when tracing or metrics are on. */
export interface FailureDiagnostics {
  /** Where the step ran: `refine > loop[3] > critic`. */
  stepPath: string;
  /** Each failed attempt with its feedback, in order. */
  attempts: Array<{ attempt: number; feedback: string }>;
  /** The step's input, as `preview()` text. */
  inputPreview: string;
  feedback: string | undefined;
}

/** The diagnostics of a failed step result, when it has them. */
export function diagnosticsOf(result: StepResult): FailureDiagnostics | undefined {
  const d = result.metadata.diagnostics;
  return typeof d === "object" && d !== null ? (d as FailureDiagnostics) : undefined;
}

/** The innermost failed step of a result (following failed nested histories), with its diagnostics. */
export function rootCause(result: PipelineResult | StepResult): StepResult | undefined {
  const history = result.stepHistory;
  for (let i = history.length - 1; i >= 0; i--) {
    const r = history[i];
    if (!r.success) return rootCause(r) ?? r;
  }
  return "success" in result && !result.success && !("totalCostUsd" in result) ? result : undefined;
}

/**
 * A readable report of why a run or a step failed: the innermost failed step's path, its attempts with
 * their feedback, and its input.
 */
export function failureReport(result: PipelineResult | StepResult): string | undefined {
  const cause = rootCause(result);
  if (cause === undefined) return undefined;
  const d = diagnosticsOf(cause);
  const lines = [`Step failed: ${d?.stepPath ?? cause.name}`];
  if (cause.feedback !== undefined) lines.push(`Feedback: ${cause.feedback}`);
  for (const a of d?.attempts ?? []) lines.push(`  attempt ${a.attempt}: ${a.feedback}`);
  if (d !== undefined) lines.push(`Input: ${d.inputPreview}`);
  return lines.join("\n");
}
