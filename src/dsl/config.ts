import { ConfigurationError } from "../domain/errors.js";

/** Per-step execution settings (Flujo's StepConfig). */
export interface StepConfig {
  /** Retries after the first attempt: attempts = maxRetries + 1. Default 1. */
  maxRetries: number;
  /** Timeout of one agent call, in seconds; the agent's signal is aborted when it fires. */
  timeoutS: number | undefined;
  temperature: number | undefined;
  topK: number | undefined;
  topP: number | undefined;
  /** Usage reserved against the run's limits before the agent is called. */
  expectedCostUsd: number | undefined;
  expectedTokens: number | undefined;
  /** After a successful fallback, keep "Primary agent failed: ..." as the feedback. */
  preserveFallbackDiagnostics: boolean;
}

export type StepConfigInput = Partial<StepConfig>;

export const DEFAULT_STEP_CONFIG: Readonly<StepConfig> = Object.freeze({
  maxRetries: 1,
  timeoutS: undefined,
  temperature: undefined,
  topK: undefined,
  topP: undefined,
  expectedCostUsd: undefined,
  expectedTokens: undefined,
  preserveFallbackDiagnostics: false,
});

const CONFIG_KEYS = new Set(Object.keys(DEFAULT_STEP_CONFIG));

/** Validates user config values once, at build time, so nothing is re-checked per call. */
export function resolveConfig(stepName: string, input: StepConfigInput | undefined): Readonly<StepConfig> {
  if (input === undefined) return DEFAULT_STEP_CONFIG;
  if (typeof input !== "object" || input === null) {
    throw new ConfigurationError(`Step '${stepName}': config must be an object, got ${describe(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!CONFIG_KEYS.has(key)) {
      throw new ConfigurationError(`Step '${stepName}': unknown config field '${key}'`, {
        suggestion: `Known fields: ${[...CONFIG_KEYS].join(", ")}`,
      });
    }
  }
  const config: StepConfig = { ...DEFAULT_STEP_CONFIG, ...stripUndefined(input) };
  const bad = (field: string, rule: string, value: unknown): never => {
    throw new ConfigurationError(`Step '${stepName}': config.${field} ${rule}, got ${describe(value)}`);
  };
  if (!Number.isInteger(config.maxRetries) || config.maxRetries < 0) {
    bad("maxRetries", "must be a non-negative integer", config.maxRetries);
  }
  if (
    config.timeoutS !== undefined &&
    !(typeof config.timeoutS === "number" && config.timeoutS > 0 && Number.isFinite(config.timeoutS))
  ) {
    bad("timeoutS", "must be a positive finite number of seconds", config.timeoutS);
  }
  for (const field of ["temperature", "topK", "topP", "expectedCostUsd", "expectedTokens"] as const) {
    const value = config[field];
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
      bad(field, "must be a finite non-negative number", value);
    }
  }
  if (typeof config.preserveFallbackDiagnostics !== "boolean") {
    bad("preserveFallbackDiagnostics", "must be a boolean", config.preserveFallbackDiagnostics);
  }
  return Object.freeze(config);
}

function stripUndefined<T extends object>(input: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export function describe(value: unknown): string {
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : String(value);
}
