/** `flujo runs list | show <id> | trace <id>`: reading the state store (Flujo's `flujo lens`). */
import type { RunStatus } from "../domain/results.js";
import { CliError, EX_CONFIG_ERROR, EX_OK, EX_RUNTIME_ERROR } from "./exit-codes.js";
import { jsonReplacer, money, preview, seconds, show, table } from "./format.js";
import type { Io } from "./run.js";
import { openState } from "./state.js";

const STATUSES: readonly RunStatus[] = ["running", "paused", "completed", "failed"];

export async function runsList(
  opts: { stateUri?: string; json?: boolean; status?: string; limit?: string },
  io: Io,
): Promise<number> {
  if (opts.status !== undefined && !(STATUSES as readonly string[]).includes(opts.status)) {
    throw new CliError(
      `--status must be one of ${STATUSES.join(", ")}, got '${opts.status}'`,
      EX_CONFIG_ERROR,
    );
  }
  const limit = opts.limit === undefined ? 50 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new CliError(`--limit must be a positive integer`, EX_CONFIG_ERROR);
  const state = openState(opts.stateUri);
  try {
    const rows = await state.listRuns({
      limit,
      ...(opts.status ? { status: opts.status as RunStatus } : {}),
    });
    if (opts.json === true) {
      io.stdout.write(`${JSON.stringify(rows, jsonReplacer)}\n`);
      return EX_OK;
    }
    if (rows.length === 0) {
      io.stdout.write("no runs recorded\n");
      return EX_OK;
    }
    io.stdout.write(
      `${table(
        ["RUN ID", "PIPELINE", "STATUS", "STEPS", "COST", "TOKENS", "UPDATED"],
        rows.map((r) => [
          r.runId,
          r.pipelineName,
          r.status,
          `${r.currentStepIndex}/${r.totalSteps}`,
          money(r.totalCostUsd),
          String(r.totalTokens),
          r.updatedAt,
        ]),
      )}\n`,
    );
    return EX_OK;
  } finally {
    await state.close();
  }
}

export async function runsShow(
  runId: string,
  opts: { stateUri?: string; json?: boolean },
  io: Io,
): Promise<number> {
  const state = openState(opts.stateUri);
  try {
    const run = await state.loadState(runId);
    if (run === undefined) {
      io.stderr.write(`flujo: run ${runId} not found\n`);
      return EX_RUNTIME_ERROR;
    }
    if (opts.json === true) {
      io.stdout.write(`${JSON.stringify(run, jsonReplacer)}\n`);
      return EX_OK;
    }
    const lines = [
      `run:      ${run.runId}`,
      `pipeline: ${run.pipelineName} (version ${run.pipelineVersion})`,
      `status:   ${run.status}${run.errorMessage ? ` (${run.errorMessage})` : ""}`,
      `steps:    ${run.currentStepIndex}/${run.totalSteps}`,
      `cost:     ${money(run.totalCostUsd)}  tokens: ${run.totalTokens}`,
      `created:  ${run.createdAt}  updated: ${run.updatedAt}`,
      "",
      "history:",
      table(
        ["#", "STEP", "OK", "ATTEMPTS", "TIME", "COST", "TOKENS", "OUTPUT / FEEDBACK"],
        run.steps.map((s) => [
          String(s.seq),
          s.stepName,
          s.success ? "yes" : "no",
          String(s.result.attempts),
          seconds(s.latencyS),
          money(s.costUsd),
          String(s.tokenCounts),
          s.success ? preview(s.result.output, 60) : preview(s.result.feedback ?? "", 60),
        ]),
      ),
      "",
      `output: ${show(run.lastStepOutput)}`,
      "",
      "context:",
      show(run.pipelineContext, true),
    ];
    io.stdout.write(`${lines.join("\n")}\n`);
    return EX_OK;
  } finally {
    await state.close();
  }
}

interface SpanLike {
  name?: unknown;
  status?: unknown;
  startTime?: unknown;
  endTime?: unknown;
  attributes?: unknown;
  children?: unknown;
}

export async function runsTrace(
  runId: string,
  opts: { stateUri?: string; json?: boolean },
  io: Io,
): Promise<number> {
  const state = openState(opts.stateUri);
  try {
    if ((await state.getRunDetails(runId)) === undefined) {
      io.stderr.write(`flujo: run ${runId} not found\n`);
      return EX_RUNTIME_ERROR;
    }
    const trace = await state.getTrace(runId);
    if (trace === undefined || trace === null) {
      io.stdout.write(`no trace recorded for run ${runId}\n`);
      return EX_OK;
    }
    if (opts.json === true) {
      io.stdout.write(`${JSON.stringify(trace, jsonReplacer)}\n`);
      return EX_OK;
    }
    const lines: string[] = [];
    renderSpan(trace as SpanLike, "", true, lines, 0);
    io.stdout.write(`${lines.join("\n")}\n`);
    return EX_OK;
  } finally {
    await state.close();
  }
}

/** One line per span, indented as a tree: name, status and duration (span times are in milliseconds). */
function renderSpan(span: SpanLike, prefix: string, last: boolean, lines: string[], depth: number): void {
  if (depth > 100) return;
  const start = typeof span.startTime === "number" ? span.startTime : undefined;
  const end = typeof span.endTime === "number" ? span.endTime : undefined;
  const duration =
    start !== undefined && end !== undefined ? ` ${seconds(Math.max(0, end - start) / 1000)}` : "";
  const status = typeof span.status === "string" ? ` [${span.status}]` : "";
  const branch = depth === 0 ? "" : last ? "└─ " : "├─ ";
  lines.push(`${prefix}${branch}${String(span.name ?? "(span)")}${status}${duration}`);
  const children = Array.isArray(span.children) ? (span.children as SpanLike[]) : [];
  const next = depth === 0 ? "" : `${prefix}${last ? "   " : "│  "}`;
  for (let i = 0; i < children.length; i++) {
    renderSpan(children[i] as SpanLike, next, i === children.length - 1, lines, depth + 1);
  }
}
