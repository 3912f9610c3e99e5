/**
 * The shape of a Flujo YAML blueprint (flujo/domain/blueprint/loader_models.py), as zod schemas. The
 * schemas check shapes and refuse unknown keys, so a misspelt key is reported at its line; what a key
 * means for each kind (which keys a kind requires) is checked by the builder in loader.ts.
 */
import { z } from "zod";

export const STEP_KINDS = [
  "step",
  "parallel",
  "conditional",
  "loop",
  "map",
  "dynamic_router",
  "hitl",
  "cache",
  "StateMachine",
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Kinds Flujo has that this port does not build (yet); named in the error so users know why. */
export const UNSUPPORTED_KINDS: ReadonlySet<string> = new Set(["agentic_loop", "tree_search", "import"]);

const str = z.string();
const usesRef = z.string().min(1);
const json = z.record(z.string(), z.unknown());

/** A step spec; nested step lists (branches, bodies) are checked when they are built, one level at a time. */
export const stepSchema = z.strictObject({
  kind: str.optional(),
  name: str.min(1).optional(),
  /** Flujo's legacy spelling of `name`. */
  step: str.min(1).optional(),
  uses: usesRef.optional(),
  agent: z.union([usesRef, z.strictObject({ id: usesRef, params: json.optional() })]).optional(),
  input: z.unknown().optional(),
  config: json.optional(),
  updates_context: z.boolean().optional(),
  validate_fields: z.boolean().optional(),
  sink_to: str.min(1).optional(),
  fallback: json.optional(),
  usage_limits: json.optional(),
  plugins: z
    .array(z.union([usesRef, z.strictObject({ uses: usesRef, priority: z.number().optional() })]))
    .optional(),
  validators: z.array(usesRef).optional(),
  meta: json.optional(),
  description: str.optional(),
  // parallel / dynamic_router
  branches: z.unknown().optional(),
  merge_strategy: z
    .enum(["context_update", "overwrite", "no_merge", "error_on_conflict", "keep_first"])
    .optional(),
  on_branch_failure: z.enum(["propagate", "ignore"]).optional(),
  context_include_keys: z.array(str).optional(),
  field_mapping: z.record(z.string(), z.array(str)).optional(),
  reduce: z.union([z.enum(["keys", "values", "union", "concat", "first", "last"]), usesRef]).optional(),
  concurrency_limit: z.number().int().positive().optional(),
  router: z.strictObject({ router_agent: usesRef, branches: z.unknown() }).optional(),
  // conditional
  condition: usesRef.optional(),
  condition_expression: str.optional(),
  default_branch: z.unknown().optional(),
  // loop / map
  loop: z
    .strictObject({
      body: z.unknown(),
      max_loops: z.number().int().positive().optional(),
      exit_condition: usesRef.optional(),
      exit_expression: str.optional(),
      initial_input_mapper: usesRef.optional(),
      iteration_input_mapper: usesRef.optional(),
      loop_output_mapper: usesRef.optional(),
      output_template: str.optional(),
    })
    .optional(),
  map: z.strictObject({ iterable_input: str.min(1), body: z.unknown() }).optional(),
  // hitl
  message: str.optional(),
  input_schema: json.optional(),
  // cache
  wrapped_step: json.optional(),
  // StateMachine
  start_state: str.optional(),
  end_states: z.array(str).optional(),
  states: z.record(z.string(), z.unknown()).optional(),
  transitions: z
    .array(
      z.strictObject({
        from: str,
        on: z.enum(["success", "failure", "pause"]),
        to: str,
        when: str.optional(),
      }),
    )
    .optional(),
});
export type StepSpec = z.infer<typeof stepSchema>;

export const blueprintSchema = z.strictObject({
  version: z.union([str, z.number()]).optional(),
  name: str.optional(),
  description: str.optional(),
  steps: z.array(z.unknown()),
  agents: json.optional(),
  imports: json.optional(),
  static_invariants: z.array(z.unknown()).optional(),
});
export type BlueprintSpec = z.infer<typeof blueprintSchema>;

/** Flujo's StepConfig keys in YAML, and this port's names for them. */
export const CONFIG_KEYS: Readonly<Record<string, string>> = {
  max_retries: "maxRetries",
  timeout_s: "timeoutS",
  timeout: "timeoutS",
  temperature: "temperature",
  top_k: "topK",
  top_p: "topP",
  expected_cost_usd: "expectedCostUsd",
  expected_tokens: "expectedTokens",
  preserve_fallback_diagnostics: "preserveFallbackDiagnostics",
};
