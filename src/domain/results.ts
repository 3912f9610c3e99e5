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

  get status(): RunStatus {
    const status = (this.finalPipelineContext as { status?: unknown } | undefined)?.status;
    if (status === "running" || status === "paused" || status === "completed" || status === "failed")
      return status;
    return this.success ? "completed" : "failed";
  }
}
