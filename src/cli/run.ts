/**
 * `flujo run <pipeline> [--input X] [--run-id ID] ...`: runs a pipeline against the state store
 * (`.flujo/state.db` by default), with live progress on stderr and the result on stdout. A paused run
 * asks for the human's answer on stdin and resumes; `--run-id` of an unfinished run continues it; Ctrl-C
 * cancels the run (it stays resumable by its id) and exits 130.
 */
import { readFileSync } from "node:fs";
import { InMemoryCache } from "../cache/memory.js";
import { SQLiteCache } from "../cache/sqlite.js";
import { newRunId, type PipelineContext } from "../domain/context.js";
import { errorMessage, HumanInputValidationError, UsageLimitExceededError } from "../domain/errors.js";
import type { PipelineResult } from "../domain/results.js";
import type { UsageLimits } from "../domain/usage.js";
import { Flujo } from "../runner/flujo.js";
import type { StateBackend } from "../state/backend.js";
import { SQLiteBackend } from "../state/sqlite.js";
import { AnswerReader, parseAnswer } from "./answers.js";
import { CliError, EX_CONFIG_ERROR, EX_OK, EX_RUNTIME_ERROR, EX_SIGINT } from "./exit-codes.js";
import { jsonReplacer, money, seconds, show } from "./format.js";
import { loadPipelineFile } from "./load.js";
import { Progress } from "./progress.js";
import { openState } from "./state.js";

export interface RunCommandOptions {
  input?: string | undefined;
  contextData?: string | undefined;
  runId?: string | undefined;
  stateUri?: string | undefined;
  json?: boolean | undefined;
  summary?: boolean | undefined;
  pipelineName?: string | undefined;
  allowImportsFrom?: string[] | undefined;
  maxCost?: string | undefined;
  maxTokens?: string | undefined;
}

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean | undefined };
  stderr: { write(text: string): unknown; isTTY?: boolean | undefined };
}

export async function runCommand(file: string, opts: RunCommandOptions, io: Io): Promise<number> {
  const contextData = parseContextData(opts.contextData);
  const usageLimits = parseLimits(opts);
  const state = openState(opts.stateUri);
  try {
    return await runWith(file, opts, io, state, contextData, usageLimits);
  } finally {
    await state.close();
  }
}

async function runWith(
  file: string,
  opts: RunCommandOptions,
  io: Io,
  state: StateBackend,
  contextData: Record<string, unknown> | undefined,
  cliLimits: UsageLimits | undefined,
): Promise<number> {
  const loaded = await loadPipelineFile(file, {
    pipelineName: opts.pipelineName,
    allowImportsFrom: opts.allowImportsFrom,
    // Cached steps keep their results in the state file, so a second run does not pay for them again.
    cacheBackend: () => (state instanceof SQLiteBackend ? new SQLiteCache(state) : new InMemoryCache()),
  });
  const runId = opts.runId ?? newRunId();
  const stored = opts.runId === undefined ? undefined : await state.loadState(runId);
  const progress = new Progress(io.stderr, {
    quiet: opts.json === true,
    totalSteps: loaded.pipeline.steps.length,
    startIndex: stored?.currentStepIndex ?? 0,
  });
  const runner = new Flujo(loaded.pipeline, {
    stateBackend: state,
    pipelineName: loaded.name,
    pipelineVersion: loaded.version,
    hooks: [progress.hook],
    // The trace tree goes to the state file, so `flujo runs trace <id>` can show where the time went.
    tracing: true,
    usageLimits: cliLimits ?? loaded.usageLimits,
    contextSchema: loaded.contextSchema,
    initialContextData: { ...(loaded.initialContextData ?? {}), ...(contextData ?? {}) },
  });

  if (stored?.status === "completed") {
    return report(io, opts, {
      runId,
      status: "completed",
      output: stored.lastStepOutput,
      totalCostUsd: stored.totalCostUsd,
      totalTokens: stored.totalTokens,
      elapsedS: 0,
      steps: stored.stepHistory.length,
      note: `run ${runId} had already completed; nothing to do`,
      feedback: undefined,
    });
  }

  const controller = new AbortController();
  const answers = new AnswerReader();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EX_SIGINT); // a second Ctrl-C does not wait for the run to unwind
    interrupted = true;
    controller.abort();
    answers.cancel();
  };
  process.on("SIGINT", onSigint);
  const started = performance.now();
  try {
    let result: PipelineResult<PipelineContext>;
    try {
      if (stored?.status === "paused") {
        // Answering a paused run: its PipelineResult comes from the store, through runner.resume by id.
        const answered = await answerPaused(runner, runId, stored.pipelineContext, io, progress, answers);
        if (answered === undefined) {
          if (interrupted) return interruptedReport(io, file, runId);
          return pausedReport(io, opts, file, runId, stored.pipelineContext, started);
        }
        result = answered;
      } else {
        const input = readInput(opts.input, stored?.pipelineContext);
        result = await runner.run(input, { runId, signal: controller.signal });
      }
      while (result.status === "paused" && !interrupted) {
        const next = await answerLoop(runner, result, io, progress, answers, controller.signal);
        if (next === undefined) break;
        result = next;
      }
    } catch (err) {
      if (err instanceof UsageLimitExceededError) {
        progress.stopSpinner();
        const partial = err.result;
        io.stderr.write(`flujo: ${err.message}\n`);
        return report(io, opts, {
          runId,
          status: "failed",
          output: partial?.output,
          totalCostUsd: partial?.totalCostUsd ?? 0,
          totalTokens: partial?.totalTokens ?? 0,
          elapsedS: (performance.now() - started) / 1000,
          steps: partial?.stepHistory.length ?? 0,
          note: undefined,
          feedback: err.message,
        });
      }
      throw err;
    }
    progress.stopSpinner();
    const elapsedS = (performance.now() - started) / 1000;
    if (interrupted) return interruptedReport(io, file, runId);
    if (result.status === "paused") {
      return pausedReport(io, opts, file, runId, result.finalPipelineContext, started);
    }
    const last = result.stepHistory[result.stepHistory.length - 1];
    return report(io, opts, {
      runId,
      status: result.status,
      output: result.output,
      totalCostUsd: result.totalCostUsd,
      totalTokens: result.totalTokens,
      elapsedS,
      steps: result.stepHistory.length,
      note: undefined,
      feedback: result.success ? undefined : (last?.feedback ?? undefined),
    });
  } finally {
    // The handler stays: a Ctrl-C while the process exits must still end it with 130, not by the signal.
    answers.close();
  }
}

/** Asks for answers to a paused result until the run stops pausing, the input ends, or an interrupt. */
async function answerLoop(
  runner: Flujo,
  paused: PipelineResult<PipelineContext>,
  io: Io,
  progress: Progress,
  answers: AnswerReader,
  signal: AbortSignal,
): Promise<PipelineResult<PipelineContext> | undefined> {
  const ctx = paused.finalPipelineContext;
  for (;;) {
    progress.paused(pausedStepName(ctx), String(ctx?.pauseMessage ?? "waiting for input"));
    const line = await answers.next("answer> ");
    if (line === undefined || signal.aborted) return undefined;
    try {
      return await runner.resume(paused, parseAnswer(line), { signal });
    } catch (err) {
      if (!(err instanceof HumanInputValidationError)) throw err;
      io.stderr.write(`flujo: answer rejected: ${err.message}\n`);
    }
  }
}

/** A run stored as paused (from an earlier process): asks, then resumes it by id. */
async function answerPaused(
  runner: Flujo,
  runId: string,
  ctx: Record<string, unknown>,
  io: Io,
  progress: Progress,
  answers: AnswerReader,
): Promise<PipelineResult<PipelineContext> | undefined> {
  for (;;) {
    progress.paused(pausedStepName(ctx), String(ctx.pauseMessage ?? "waiting for input"));
    const line = await answers.next("answer> ");
    if (line === undefined) return undefined;
    try {
      return await runner.resume(runId, parseAnswer(line));
    } catch (err) {
      if (!(err instanceof HumanInputValidationError)) throw err;
      io.stderr.write(`flujo: answer rejected: ${err.message}\n`);
    }
  }
}

function interruptedReport(io: Io, file: string, runId: string): number {
  io.stderr.write(
    `\nflujo: interrupted; run ${runId} is saved and can be resumed with: flujo run ${file} --run-id ${runId}\n`,
  );
  return EX_SIGINT;
}

function pausedStepName(ctx: Record<string, unknown> | undefined): string | undefined {
  const data = ctx?.hitlData as { lastHitlStep?: unknown } | undefined;
  return typeof data?.lastHitlStep === "string" ? data.lastHitlStep : undefined;
}

function pausedReport(
  io: Io,
  opts: RunCommandOptions,
  file: string,
  runId: string,
  ctx: Record<string, unknown> | undefined,
  started: number,
): number {
  const message = String(ctx?.pauseMessage ?? "");
  if (opts.json === true) {
    io.stdout.write(
      `${JSON.stringify({ runId, status: "paused", pauseMessage: message, elapsedS: (performance.now() - started) / 1000 })}\n`,
    );
  } else {
    io.stdout.write(
      `status: paused (${message})\nrun:    ${runId}\nresume: flujo run ${file} --run-id ${runId}   (the answer on stdin)\n`,
    );
  }
  return EX_OK;
}

interface Outcome {
  runId: string;
  status: string;
  output: unknown;
  totalCostUsd: number;
  totalTokens: number;
  elapsedS: number;
  steps: number;
  note: string | undefined;
  feedback: string | undefined;
}

function report(io: Io, opts: RunCommandOptions, o: Outcome): number {
  const code = o.status === "completed" ? EX_OK : EX_RUNTIME_ERROR;
  if (opts.json === true) {
    io.stdout.write(`${JSON.stringify(o, jsonReplacer)}\n`);
    return code;
  }
  if (o.note !== undefined) io.stderr.write(`${o.note}\n`);
  const totals = `cost: ${money(o.totalCostUsd)}  tokens: ${o.totalTokens}  time: ${seconds(o.elapsedS)}  steps: ${o.steps}`;
  if (opts.summary === true) {
    io.stdout.write(`${o.status} ${o.runId}  ${totals}\n`);
    return code;
  }
  const lines = [`status: ${o.status}`, `run:    ${o.runId}`];
  if (o.feedback !== undefined) lines.push(`error:  ${o.feedback}`);
  lines.push(`output: ${show(o.output, typeof o.output === "object")}`, totals);
  io.stdout.write(`${lines.join("\n")}\n`);
  return code;
}

function readInput(input: string | undefined, stored: Record<string, unknown> | undefined): string {
  if (input === "-") return readFileSync(0, "utf8").replace(/\r?\n$/, "");
  if (input !== undefined) return input;
  if (process.env.FLUJO_INPUT !== undefined) return process.env.FLUJO_INPUT;
  const prompt = stored?.initialPrompt;
  return typeof prompt === "string" ? prompt : "";
}

function parseContextData(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`--context-data is not valid JSON: ${errorMessage(err)}`, EX_CONFIG_ERROR);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError("--context-data must be a JSON object", EX_CONFIG_ERROR);
  }
  return value as Record<string, unknown>;
}

function parseLimits(opts: RunCommandOptions): UsageLimits | undefined {
  const num = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0)
      throw new CliError(`${flag} must be a non-negative number, got '${text}'`, EX_CONFIG_ERROR);
    return n;
  };
  const cost = num("--max-cost", opts.maxCost);
  const tokens = num("--max-tokens", opts.maxTokens);
  if (cost === undefined && tokens === undefined) return undefined;
  const limits: UsageLimits = {};
  if (cost !== undefined) limits.totalCostUsdLimit = cost;
  if (tokens !== undefined) limits.totalTokensLimit = tokens;
  return limits;
}
