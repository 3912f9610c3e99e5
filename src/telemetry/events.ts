import type { PipelineResult, StepResult } from "../domain/results.js";
import type { Step } from "../dsl/step.js";
import type { AlertPayload, AlertResolvedPayload } from "../observability/alerts.js";

export type { AlertPayload, AlertResolvedPayload };

type Ctx = Record<string, unknown>;

export interface PreRunPayload {
  eventName: "pre_run";
  initialInput: unknown;
  context: Ctx;
  resources: unknown;
  runId: string;
  pipelineName: string;
  pipelineVersion: string;
  initialBudgetCostUsd: number | undefined;
  initialBudgetTokens: number | undefined;
  isBackground: boolean;
}

export interface PreStepPayload {
  eventName: "pre_step";
  step: Step;
  stepInput: unknown;
  context: Ctx;
  resources: unknown;
  attemptNumber: number | undefined;
  quotaBeforeUsd: number | undefined;
  quotaBeforeTokens: number | undefined;
  cacheHit: boolean;
  isBackground: boolean;
}

export interface PostStepPayload {
  eventName: "post_step";
  stepResult: StepResult;
  context: Ctx;
  resources: unknown;
  isBackground: boolean;
}

export interface OnStepFailurePayload {
  eventName: "on_step_failure";
  stepResult: StepResult;
  context: Ctx;
  resources: unknown;
  isBackground: boolean;
}

export interface PostRunPayload {
  eventName: "post_run";
  pipelineResult: PipelineResult;
  context: Ctx;
  resources: unknown;
  isBackground: boolean;
}

export type HookPayload =
  | PreRunPayload
  | PreStepPayload
  | PostStepPayload
  | OnStepFailurePayload
  | PostRunPayload
  | AlertPayload
  | AlertResolvedPayload;
export type HookEventName = HookPayload["eventName"];

/**
 * A hook: called with each event of top-level steps, in Flujo's order, and with `alert` /
 * `alert_resolved` events of the runner's alert rules. Errors are logged, not raised.
 */
export type HookFunction = (payload: HookPayload) => void | Promise<void>;
