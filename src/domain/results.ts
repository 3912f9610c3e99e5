import { defaultPipelineContext } from "./context.js";
import type { Span } from "./trace.js";

/** The outcome of one step. Field names are Flujo's, in camelCase. */
export interface StepResult<Out = unknown> {
  name: string;
  output: Out | undefined;
  success: boolean;
  attempts: number;
  latencyS: number;
  tokenCounts: number;
  costUsd: number;
  feedback: string | undefined;
  /** The context after the step, for steps that produce one (complex steps, updatesContext). */
  branchContext: Record<string, unknown> | undefined;
  metadata: Record<string, unknown>;
  stepHistory: StepResult[];
}

export function stepResult<Out = unknown>(
  name: string,
  fields: Partial<StepResult<Out>> = {},
): StepResult<Out> {
  return {
    name,
    output: fields.output,
    success: fields.success ?? true,
    attempts: fields.attempts ?? 0,
    latencyS: fields.latencyS ?? 0,
    tokenCounts: fields.tokenCounts ?? 0,
    costUsd: fields.costUsd ?? 0,
    feedback: fields.feedback,
    branchContext: fields.branchContext,
    metadata: fields.metadata ?? {},
    stepHistory: fields.stepHistory ?? [],
  };
}

export type RunStatus = "running" | "paused" | "completed" | "failed";

/** The outcome of a whole run. `output` is the last step's output; `status` comes from the context. */
export class PipelineResult<Ctx extends object = Record<string, unknown>> {
  stepHistory: StepResult[] = [];
  totalCostUsd = 0;
  totalTokens = 0;
  finalPipelineContext: Ctx | undefined;
  traceTree: Span | undefined;
  success = true;

  constructor(
    init: Partial<Pick<PipelineResult<Ctx>, "stepHistory" | "finalPipelineContext" | "success">> = {},
  ) {
    if (init.finalPipelineContext !== undefined) this.finalPipelineContext = init.finalPipelineContext;
    if (init.success !== undefined) this.success = init.success;
    for (const r of init.stepHistory ?? []) this.append(r);
  }

  /** Appends a step result and adds its usage to the totals. */
  append(result: StepResult): void {
    this.stepHistory.push(result);
    this.totalCostUsd += result.costUsd;
    this.totalTokens += result.tokenCounts;
  }

  get output(): unknown {
    const last = this.stepHistory[this.stepHistory.length - 1];
    return last?.output;
  }

  /**
   * Plain data for `JSON.stringify`: the fields, plus `status` and `output` for readers. Step results'
   * `branchContext` (the context object, or a view of it, after each step) is left out: the final context
   * is serialized once, as `finalPipelineContext`.
   */
  toJSON(): Record<string, unknown> {
    return {
      stepHistory: this.stepHistory.map(stepResultToPlain),
      totalCostUsd: this.totalCostUsd,
      totalTokens: this.totalTokens,
      finalPipelineContext: this.finalPipelineContext,
      traceTree: this.traceTree,
      success: this.success,
      status: this.status,
      output: this.output,
    };
  }

  /**
   * A PipelineResult from what `JSON.stringify(result)` produced (the parsed object or the JSON text), e.g. a
   * paused result stored while waiting for a human, which `runner.resume` then accepts. Context keys
   * that JSON dropped (undefined values) come back as PipelineContext defaults; totals are kept as stored.
   */
  static fromJSON<C extends object = import("./context.js").PipelineContext>(
    data: unknown,
  ): PipelineResult<C> {
    const raw = typeof data === "string" ? (JSON.parse(data) as unknown) : data;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new TypeError("PipelineResult.fromJSON needs an object (or its JSON text)");
    }
    const obj = raw as Record<string, unknown>;
    const history = Array.isArray(obj.stepHistory) ? obj.stepHistory.map(stepResultFromPlain) : [];
    const ctx = obj.finalPipelineContext;
    let context: C | undefined;
    if (typeof ctx === "object" && ctx !== null && !Array.isArray(ctx)) {
      const fields = ctx as Record<string, unknown>;
      const base = defaultPipelineContext(typeof fields.runId === "string" ? fields.runId : undefined);
      context = Object.assign(base, fields) as unknown as C;
    }
    const result = new PipelineResult<C>({
      stepHistory: history,
      finalPipelineContext: context,
      success: typeof obj.success === "boolean" ? obj.success : undefined,
    });
    if (typeof obj.totalCostUsd === "number") result.totalCostUsd = obj.totalCostUsd;
    if (typeof obj.totalTokens === "number") result.totalTokens = obj.totalTokens;
    if (obj.traceTree !== undefined && obj.traceTree !== null) result.traceTree = obj.traceTree as Span;
    return result;
  }

  get status(): RunStatus {
    const status = (this.finalPipelineContext as { status?: unknown } | undefined)?.status;
    if (status === "running" || status === "paused" || status === "completed" || status === "failed")
      return status;
    return this.success ? "completed" : "failed";
  }
}

/** A step result as data to store or send: everything but `branchContext`, nested results included. */
export function stepResultToPlain(result: StepResult): StepResult {
  const copy = { ...result, branchContext: undefined };
  if (result.stepHistory.length > 0) copy.stepHistory = result.stepHistory.map(stepResultToPlain);
  return copy;
}

/** A StepResult from its stored form (JSON, MessagePack): unknown or mistyped fields take their defaults. */
export function stepResultFromPlain(value: unknown): StepResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("a stored step result must be an object");
  }
  const r = value as Record<string, unknown>;
  const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
  return stepResult(typeof r.name === "string" ? r.name : "", {
    output: r.output,
    success: typeof r.success === "boolean" ? r.success : undefined,
    attempts: num(r.attempts),
    latencyS: num(r.latencyS),
    tokenCounts: num(r.tokenCounts),
    costUsd: num(r.costUsd),
    feedback: typeof r.feedback === "string" ? r.feedback : undefined,
    metadata:
      typeof r.metadata === "object" && r.metadata !== null
        ? (r.metadata as Record<string, unknown>)
        : undefined,
    stepHistory: Array.isArray(r.stepHistory) ? r.stepHistory.map(stepResultFromPlain) : undefined,
  });
}
