import type { StandardSchemaV1 } from "@standard-schema/spec";

/** What every agent, callable, plugin and validator receives beside its data. No reflection: always this object. */
export interface RunOptions<Ctx = Record<string, unknown>, Res = unknown> {
  /** An isolated view of the run context: changes are kept only if the step succeeds. */
  readonly context: Ctx;
  readonly resources: Res;
  /** Aborted when the run is cancelled or the step's timeout fires. */
  readonly signal: AbortSignal;
}

export interface AgentRunOptions<Ctx = Record<string, unknown>, Res = unknown> extends RunOptions<Ctx, Res> {
  readonly temperature?: number | undefined;
  readonly topK?: number | undefined;
  readonly topP?: number | undefined;
}

/** An agent: any object with `run(input, options)`. It may return a plain output or an AgentResult. */
export interface Agent<In = unknown, Out = unknown> {
  run(input: In, options: AgentRunOptions): Promise<Out | AgentResult<Out>> | Out | AgentResult<Out>;
  /** Optional streaming form, used for the last step of `runner.stream()`. */
  stream?(input: In, options: AgentRunOptions): AsyncIterable<unknown>;
  /** Identifies the model in cache fingerprints. */
  readonly modelId?: string;
  readonly systemPrompt?: string;
}

/**
 * A function agent. Declared through a method so its parameter is bivariant: a `Step<string, string>` can
 * then be passed wherever a `Step` (of unknown input) is expected, as with Agent's `run` method.
 */
export type AgentFunction<In = unknown, Out = unknown> = {
  bivarianceHack(
    input: In,
    options: AgentRunOptions,
  ): Promise<Out | AgentResult<Out>> | Out | AgentResult<Out>;
}["bivarianceHack"];

/** Usage counters an agent may report. */
export interface AgentUsage {
  inputTokens?: number;
  outputTokens?: number;
  requestTokens?: number;
  responseTokens?: number;
  costUsd?: number;
}

/** An agent output that carries usage: the step's output is `output`; cost and tokens are counted. */
export interface AgentResult<Out = unknown> {
  output: Out;
  costUsd?: number;
  tokenCounts?: number;
  usage?: () => AgentUsage;
}

export interface PluginOutcome {
  success: boolean;
  feedback?: string | undefined;
  /** Re-run this agent on the step's original input. */
  redirectTo?: Agent | AgentFunction | undefined;
  /** Replace the output and run the plugins again. */
  newSolution?: unknown;
}

/** Validates (and may redirect or repair) a step's output. Plugins run in descending priority. */
export interface Plugin {
  readonly name?: string;
  validate(data: Record<string, unknown>, options: RunOptions): Promise<PluginOutcome> | PluginOutcome;
}

export interface ValidationResult {
  isValid: boolean;
  feedback?: string | undefined;
  score?: number;
  validatorName?: string;
}

export type ValidatorFunction = (
  output: unknown,
  options: { context: Record<string, unknown> },
) => Promise<ValidationResult> | ValidationResult;

export interface ValidatorObject {
  readonly name?: string;
  validate: ValidatorFunction;
}

/** A validator: an object with `validate(output, { context })` or a bare function. Failures do not retry. */
export type Validator = ValidatorObject | ValidatorFunction;

export type ProcessorFunction = (data: unknown, options: { context: Record<string, unknown> }) => unknown;
export interface ProcessorObject {
  readonly name?: string;
  process: ProcessorFunction;
}
/** Transforms the input before the agent (prompt processors) or the output after it (output processors). */
export type Processor = ProcessorObject | ProcessorFunction;

export interface AgentProcessors {
  promptProcessors?: readonly Processor[];
  outputProcessors?: readonly Processor[];
}

/** Any Standard Schema (zod, valibot, arktype, ...). */
export type Schema<T = unknown> = StandardSchemaV1<unknown, T>;
