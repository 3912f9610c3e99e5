import type { HookFunction, HookPayload } from "../telemetry/events.js";
import { preview, rootCause } from "./diagnostics.js";

export interface ConsoleTracerOptions {
  /** "debug" prints each step's input at its start and its output at its end; default "info". */
  level?: "info" | "debug";
  /** Print the run's input in "Pipeline Start" (default true). */
  logInputs?: boolean;
  /** Print step outputs in "Step End" at level "info" too (default false). */
  logOutputs?: boolean;
  /** ANSI colours; default: only when writing to a TTY (never when `write` is given). */
  colorized?: boolean;
  /** Where lines go; default process.stdout. */
  write?: (text: string) => void;
}

const COLORS = { green: 32, red: 31, yellow: 33, cyan: 36 } as const;

/**
 * Flujo's ConsoleTracer as a hook: prints "Pipeline Start", "Step Start/End/Failure" and "Pipeline End"
 * (or "Pipeline Paused") panels as plain text, and alerts. It sees the events hooks see: top-level steps.
 *
 * ```ts
 * new Flujo(p, { hooks: [consoleTracer({ level: "debug" })] });
 * ```
 */
export function consoleTracer(options: ConsoleTracerOptions = {}): HookFunction {
  const debug = options.level === "debug";
  const logInputs = options.logInputs ?? true;
  const logOutputs = options.logOutputs ?? false;
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const colorized = options.colorized ?? (options.write === undefined && process.stdout.isTTY === true);
  const paint = (color: keyof typeof COLORS, text: string) =>
    colorized ? `\u001b[${COLORS[color]}m${text}\u001b[0m` : text;
  const panel = (depth: number, title: string, body: string[], color: keyof typeof COLORS) => {
    const pad = "  ".repeat(depth);
    const rule = "─".repeat(Math.max(8, 48 - title.length));
    const lines = [`${pad}${paint(color, `┌─ ${title} ${rule}`)}`];
    for (const line of body) for (const part of line.split("\n")) lines.push(`${pad}│ ${part}`);
    lines.push(`${pad}${paint(color, "└")}`);
    write(`${lines.join("\n")}\n`);
  };

  const tracer: HookFunction = (payload: HookPayload) => {
    if (payload.isBackground) return;
    switch (payload.eventName) {
      case "pre_run":
        panel(
          0,
          "Pipeline Start",
          [logInputs ? `Input: ${preview(payload.initialInput)}` : "running"],
          "cyan",
        );
        return;
      case "pre_step":
        panel(
          1,
          `Step Start: ${payload.step.name}`,
          [debug ? `Input: ${preview(payload.stepInput)}` : "running"],
          "cyan",
        );
        return;
      case "post_step": {
        const r = payload.stepResult;
        const body = ["Status: SUCCESS"];
        if (debug || logOutputs) body.push(`Output: ${preview(r.output)}`);
        panel(1, `Step End: ${r.name}`, body, "green");
        return;
      }
      case "on_step_failure": {
        const r = payload.stepResult;
        const body = ["Status: FAILED", `Feedback: ${r.feedback ?? ""}`];
        // Hooks see top-level steps: the path worth showing is the innermost failed step's.
        const cause = rootCause(r) ?? r;
        const d = cause.metadata.diagnostics as { stepPath?: string } | undefined;
        if (d?.stepPath !== undefined && d.stepPath !== r.name) body.push(`Path: ${d.stepPath}`);
        panel(1, `Step Failure: ${r.name}`, body, "red");
        return;
      }
      case "post_run": {
        const result = payload.pipelineResult;
        const status = result.status;
        const label =
          status === "completed" ? "✅ COMPLETED" : status === "paused" ? "⏸ PAUSED" : "❌ FAILED";
        panel(
          0,
          status === "paused" ? "Pipeline Paused" : "Pipeline End",
          [
            `Status: ${label}`,
            `Total Steps Executed: ${result.stepHistory.length}`,
            `Total Cost: $${result.totalCostUsd.toFixed(6)}`,
          ],
          status === "completed" ? "green" : status === "paused" ? "yellow" : "red",
        );
        return;
      }
      case "alert":
        panel(0, `Alert: ${payload.rule}`, [payload.message], "yellow");
        return;
      case "alert_resolved":
        panel(0, `Alert Resolved: ${payload.rule}`, [payload.message], "green");
        return;
    }
  };
  Object.defineProperty(tracer, "name", { value: "consoleTracer" });
  return tracer;
}
