/**
 * Loads a Flujo YAML blueprint into a Pipeline. The file is parsed with `yaml` (aliases bounded, so an
 * alias bomb fails fast), its shape checked with the zod schemas in schema.ts, and each step built with
 * the DSL (Step, Step.parallel, Step.loopUntil, ...), so a YAML pipeline and a TypeScript one are the same
 * objects. Callables come from JavaScript/TypeScript modules (`uses: "./steps.js#name"`), expressions and
 * templates from the safe evaluator. Every error names the file, the line and column, and the YAML path
 * of the key, e.g. `pipeline.yaml:7:9 (steps[1].loop.exit_expression): ...`.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import type { CacheBackend } from "../cache/backend.js";
import { ConfigurationError } from "../domain/errors.js";
import type { StepResult } from "../domain/results.js";
import type { BranchFailureStrategy, MergeStrategy } from "../domain/strategies.js";
import type { ParallelReducer } from "../dsl/parallel.js";
import { Pipeline } from "../dsl/pipeline.js";
import type { TransitionRule } from "../dsl/stateMachine.js";
import { Step, type StepOptions } from "../dsl/step.js";
import type { Agent, Plugin, Processor, Schema, Validator } from "../dsl/types.js";
import { BlueprintError, BlueprintImportError, formatPath, type SourceLocation } from "./errors.js";
import { compileExpression, ExpressionError, truthy } from "./expression.js";
import {
  type BlueprintSpec,
  blueprintSchema,
  CONFIG_KEYS,
  STEP_KINDS,
  type StepKind,
  type StepSpec,
  stepSchema,
  UNSUPPORTED_KINDS,
} from "./schema.js";
import { expressionScope, templateScope } from "./scope.js";
import { compileTemplate, isTemplate } from "./template.js";
import { resolveUses, UsesError } from "./uses.js";

type Path = readonly (string | number)[];
type Ctx = Record<string, unknown>;

export interface LoadPipelineOptions {
  /** Directories (or package names) besides the pipeline's own directory that `uses` may load from. */
  allowImportsFrom?: readonly string[];
  /** The backend of `kind: cache` steps (the CLI passes a SQLiteCache on the state file). Default: in memory. */
  cacheBackend?: () => CacheBackend;
  /** At most this many YAML alias expansions (alias bombs). Default 100. */
  maxAliasCount?: number;
}

export interface LoadedPipeline {
  pipeline: Pipeline;
  name: string;
  version: string;
  /** The file it was loaded from (or the name given to loadPipelineFromString). */
  file: string;
}

/** Loads a YAML pipeline file. Throws BlueprintError (BlueprintImportError for a `uses` that cannot load). */
export async function loadPipelineYaml(
  path: string,
  options: LoadPipelineOptions = {},
): Promise<LoadedPipeline> {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new BlueprintError(`cannot read the pipeline file: ${(err as Error).message}`, {
      file: path,
      line: undefined,
      column: undefined,
      key: undefined,
    });
  }
  return loadPipelineFromString(text, { ...options, fileName: path, baseDir: dirname(file) });
}

/** Loads a YAML pipeline from text; `uses` paths resolve from `baseDir` (default: the working directory). */
export async function loadPipelineFromString(
  text: string,
  options: LoadPipelineOptions & { fileName?: string; baseDir?: string } = {},
): Promise<LoadedPipeline> {
  const file = options.fileName ?? "<string>";
  const loader = new Loader(text, file, resolve(options.baseDir ?? process.cwd()), options);
  return loader.load();
}

const KIND_KEYS: Readonly<Record<StepKind, readonly string[]>> = {
  step: [
    "uses",
    "agent",
    "input",
    "config",
    "validators",
    "plugins",
    "fallback",
    "usage_limits",
    "validate_fields",
    "updates_context",
    "sink_to",
  ],
  parallel: [
    "branches",
    "merge_strategy",
    "on_branch_failure",
    "context_include_keys",
    "field_mapping",
    "reduce",
    "concurrency_limit",
  ],
  conditional: ["condition", "condition_expression", "branches", "default_branch"],
  loop: ["loop"],
  map: ["map"],
  dynamic_router: ["router", "merge_strategy", "on_branch_failure", "context_include_keys", "field_mapping"],
  hitl: ["message", "input_schema", "updates_context", "sink_to"],
  cache: ["wrapped_step"],
  StateMachine: ["start_state", "end_states", "states", "transitions"],
};
const COMMON_KEYS = new Set(["kind", "name", "step", "meta", "description"]);
const ALL_KIND_KEYS = new Set(Object.values(KIND_KEYS).flat());

class Loader {
  readonly #doc: Document.Parsed;
  readonly #lines = new LineCounter();
  readonly #text: string;

  constructor(
    text: string,
    readonly file: string,
    readonly baseDir: string,
    readonly options: LoadPipelineOptions,
  ) {
    this.#text = text;
    this.#doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false, uniqueKeys: true });
  }

  async load(): Promise<LoadedPipeline> {
    const error = this.#doc.errors[0];
    if (error !== undefined) {
      const pos = this.#lines.linePos(error.pos[0]);
      throw new BlueprintError(`invalid YAML: ${firstLine(error.message)}`, {
        file: this.file,
        line: pos.line,
        column: pos.col,
        key: undefined,
      });
    }
    let data: unknown;
    try {
      data = this.#doc.toJS({ maxAliasCount: this.options.maxAliasCount ?? 100 });
    } catch (err) {
      throw this.#fail([], `invalid YAML: ${(err as Error).message}`);
    }
    if (this.#text.trim() === "" || data === null || typeof data !== "object" || Array.isArray(data)) {
      throw this.#fail(
        [],
        "a pipeline file must be a mapping with 'steps' (and optionally 'version' and 'name')",
      );
    }
    const spec = this.#check(blueprintSchema, data, []) as BlueprintSpec;
    for (const key of ["agents", "imports", "static_invariants"] as const) {
      if (spec[key] !== undefined) {
        throw this.#fail(
          [key],
          `'${key}' is not supported by flujo for TypeScript: reference JavaScript modules with uses: "./file.js#export"`,
        );
      }
    }
    if (spec.steps.length === 0)
      throw this.#fail(["steps"], "'steps' is empty: a pipeline needs at least one step");
    const steps = await this.#steps(spec.steps, ["steps"]);
    const name = spec.name ?? basename(this.file, extname(this.file));
    return {
      pipeline: new Pipeline(steps),
      name,
      version: spec.version === undefined ? "0.1" : String(spec.version),
      file: this.file,
    };
  }

  // ---- locations and errors ----

  /** The line and column of the key at `path` (or of the value, for list items). */
  location(path: Path): SourceLocation {
    let node: unknown = this.#doc.contents;
    let range: readonly number[] | undefined = (node as { range?: number[] } | null)?.range;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg),
        );
        if (pair === undefined) break;
        range = (pair.key as { range?: number[] } | null)?.range ?? range;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number") {
        node = node.items[seg];
        range = (node as { range?: number[] } | null)?.range ?? range;
      } else break;
    }
    const pos = range === undefined ? undefined : this.#lines.linePos(range[0] as number);
    return { file: this.file, line: pos?.line, column: pos?.col, key: formatPath(path) || undefined };
  }

  #fail(path: Path, message: string, options: { cause?: unknown; suggestion?: string } = {}): BlueprintError {
    return new BlueprintError(message, this.location(path), options);
  }

  #check<T>(schema: z.ZodType<T>, value: unknown, path: Path): T {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const at = [...path, ...(issue.path as (string | number)[])];
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0] as string;
      throw this.#fail([...at, key], `unknown key '${key}'`);
    }
    const key = at[at.length - 1];
    throw this.#fail(at, `${typeof key === "string" ? `'${key}': ` : ""}${issue.message}`);
  }

  /** Wraps a DSL constructor: its ConfigurationError gets the step's location. */
  #build<T>(path: Path, build: () => T): T {
    try {
      return build();
    } catch (err) {
      if (err instanceof BlueprintError) throw err;
      if (err instanceof ConfigurationError) throw this.#fail(path, err.message, { cause: err });
      throw err;
    }
  }

  async #uses(spec: string, path: Path): Promise<unknown> {
    try {
      return await resolveUses(spec, {
        baseDir: this.baseDir,
        allowImportsFrom: this.options.allowImportsFrom,
      });
    } catch (err) {
      if (err instanceof UsesError) {
        const loc = this.location(path);
        throw err.kind === "import"
          ? new BlueprintImportError(err.message, loc, { cause: err })
          : new BlueprintError(err.message, loc, { cause: err });
      }
      throw err;
    }
  }

  async #fn(spec: string, path: Path): Promise<(...args: unknown[]) => unknown> {
    const value = await this.#uses(spec, path);
    if (typeof value !== "function") {
      throw new BlueprintImportError(`'${spec}' is not a function`, this.location(path));
    }
    return value as (...args: unknown[]) => unknown;
  }

  #expression(source: string, path: Path): (output: unknown, context: Ctx | undefined) => unknown {
    try {
      const compiled = compileExpression(source);
      return (output, context) => compiled.evaluate(expressionScope(output, context));
    } catch (err) {
      if (err instanceof ExpressionError)
        throw this.#fail(path, `invalid expression ${JSON.stringify(source)}: ${err.message}`);
      throw err;
    }
  }

  /** A value whose strings may be templates, rendered against (previous output, context). */
  #template(value: unknown, path: Path): (output: unknown, context: Ctx | undefined) => unknown {
    try {
      const render = compileValue(value);
      return (output, context) => render(templateScope(output, context));
    } catch (err) {
      if (err instanceof ExpressionError) throw this.#fail(path, `invalid template: ${err.message}`);
      throw err;
    }
  }

  // ---- steps ----

  async #steps(list: unknown, path: Path): Promise<Step[]> {
    if (!Array.isArray(list)) throw this.#fail(path, "expected a list of steps");
    const steps: Step[] = [];
    for (let i = 0; i < list.length; i++) steps.push(await this.#step(list[i], [...path, i]));
    return steps;
  }

  /** A branch or body: a list of steps, or one step. */
  async #branch(value: unknown, path: Path): Promise<Pipeline> {
    if (Array.isArray(value)) {
      if (value.length === 0) throw this.#fail(path, "a branch needs at least one step");
      return new Pipeline(await this.#steps(value, path));
    }
    if (typeof value === "object" && value !== null) {
      const steps = (value as { steps?: unknown }).steps;
      if (steps !== undefined && Object.keys(value).length === 1)
        return this.#branch(steps, [...path, "steps"]);
      return Pipeline.fromStep(await this.#step(value, path));
    }
    throw this.#fail(path, "expected a step or a list of steps");
  }

  async #branches(value: unknown, path: Path): Promise<Record<string, Pipeline>> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw this.#fail(path, "'branches' must be a mapping of branch name -> steps");
    }
    const out: Record<string, Pipeline> = {};
    for (const [key, branch] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: await this.#branch(branch, [...path, key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  async #step(raw: unknown, path: Path): Promise<Step> {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw this.#fail(path, "a step must be a mapping");
    const kindValue = (raw as { kind?: unknown }).kind ?? "step";
    if (typeof kindValue !== "string") throw this.#fail([...path, "kind"], "'kind' must be a string");
    if (UNSUPPORTED_KINDS.has(kindValue)) {
      throw this.#fail([...path, "kind"], `kind '${kindValue}' is not supported by flujo for TypeScript`);
    }
    if (!(STEP_KINDS as readonly string[]).includes(kindValue)) {
      throw this.#fail([...path, "kind"], `unknown kind '${kindValue}'`, {
        suggestion: `Known kinds: ${STEP_KINDS.join(", ")}`,
      });
    }
    const kind = kindValue as StepKind;
    const spec = this.#check(stepSchema, raw, path);
    for (const key of Object.keys(spec)) {
      if (!COMMON_KEYS.has(key) && ALL_KIND_KEYS.has(key) && !KIND_KEYS[kind].includes(key)) {
        throw this.#fail([...path, key], `key '${key}' does not apply to kind '${kind}'`);
      }
    }
    const name = spec.name ?? spec.step;
    if (name === undefined) throw this.#fail(path, "a step needs a 'name'");
    const common = { updatesContext: spec.updates_context, sinkTo: spec.sink_to, meta: spec.meta };
    switch (kind) {
      case "step":
        return this.#simple(spec, name, path);
      case "parallel": {
        const branches = await this.#branches(spec.branches, [...path, "branches"]);
        const reduce =
          spec.reduce === undefined ? undefined : await this.#reducer(spec.reduce, [...path, "reduce"]);
        return this.#build(path, () =>
          Step.parallel({
            name,
            branches,
            mergeStrategy: spec.merge_strategy as MergeStrategy | undefined,
            onBranchFailure: spec.on_branch_failure as BranchFailureStrategy | undefined,
            contextIncludeKeys: spec.context_include_keys,
            fieldMapping: spec.field_mapping,
            reduce,
            concurrencyLimit: spec.concurrency_limit,
          }),
        );
      }
      case "conditional": {
        let condition: (data: unknown, context: Ctx) => unknown;
        if (spec.condition !== undefined && spec.condition_expression !== undefined) {
          throw this.#fail(
            [...path, "condition_expression"],
            "give 'condition' or 'condition_expression', not both",
          );
        }
        if (spec.condition !== undefined) condition = await this.#fn(spec.condition, [...path, "condition"]);
        else if (spec.condition_expression !== undefined) {
          const expr = this.#expression(spec.condition_expression, [...path, "condition_expression"]);
          condition = (data, context) => branchKey(expr(data, context));
        } else throw this.#fail(path, "a conditional step needs 'condition' or 'condition_expression'");
        if (spec.branches === undefined) throw this.#fail(path, "a conditional step needs 'branches'");
        const branches = await this.#branches(spec.branches, [...path, "branches"]);
        const defaultBranch =
          spec.default_branch === undefined
            ? undefined
            : await this.#branch(spec.default_branch, [...path, "default_branch"]);
        return this.#build(path, () =>
          Step.branchOn({
            name,
            condition: condition as (data: unknown, context: Ctx) => string,
            branches,
            defaultBranch,
          }),
        );
      }
      case "loop": {
        const loop = spec.loop;
        if (loop === undefined)
          throw this.#fail(path, "a loop step needs 'loop: { body, max_loops, exit_expression }'");
        const at = [...path, "loop"];
        if (loop.body === undefined) throw this.#fail(at, "loop step requires loop.body");
        const body = await this.#branch(loop.body, [...at, "body"]);
        let exitCondition: (output: unknown, context: Ctx) => boolean;
        if (loop.exit_condition !== undefined && loop.exit_expression !== undefined) {
          throw this.#fail(
            [...at, "exit_expression"],
            "give 'exit_condition' or 'exit_expression', not both",
          );
        }
        if (loop.exit_condition !== undefined) {
          const fn = await this.#fn(loop.exit_condition, [...at, "exit_condition"]);
          exitCondition = (output, context) => truthy(fn(output, context));
        } else if (loop.exit_expression !== undefined) {
          const expr = this.#expression(loop.exit_expression, [...at, "exit_expression"]);
          exitCondition = (output, context) => truthy(expr(output, context));
        } else {
          throw this.#fail(at, "a loop needs 'exit_expression' or 'exit_condition'");
        }
        const mapper = async (
          key: "initial_input_mapper" | "iteration_input_mapper" | "loop_output_mapper",
        ) => {
          const ref = loop[key];
          return ref === undefined ? undefined : await this.#fn(ref, [...at, key]);
        };
        const initial = await mapper("initial_input_mapper");
        const iteration = await mapper("iteration_input_mapper");
        let output = await mapper("loop_output_mapper");
        if (loop.output_template !== undefined) {
          if (output !== undefined)
            throw this.#fail(
              [...at, "output_template"],
              "give 'loop_output_mapper' or 'output_template', not both",
            );
          const render = this.#template(loop.output_template, [...at, "output_template"]);
          output = (out: unknown, context: unknown) => render(out, context as Ctx);
        }
        return this.#build(path, () =>
          Step.loopUntil({
            name,
            body,
            maxLoops: loop.max_loops,
            exitCondition,
            initialInputMapper: initial as ((input: unknown, context: Ctx) => unknown) | undefined,
            iterationInputMapper: iteration as ((o: unknown, c: Ctx, i: number) => unknown) | undefined,
            loopOutputMapper: output as ((o: unknown, c: Ctx) => unknown) | undefined,
          }),
        );
      }
      case "map": {
        const map = spec.map;
        if (map === undefined) throw this.#fail(path, "a map step needs 'map: { iterable_input, body }'");
        const body = await this.#branch(map.body, [...path, "map", "body"]);
        const field = map.iterable_input.startsWith("context.")
          ? map.iterable_input.slice(8)
          : map.iterable_input;
        return this.#build([...path, "map", "iterable_input"], () =>
          Step.mapOver({ name, body, iterableInput: field }),
        );
      }
      case "dynamic_router": {
        const router = spec.router;
        if (router === undefined)
          throw this.#fail(path, "a dynamic_router step needs 'router: { router_agent, branches }'");
        const agent = await this.#agent(router.router_agent, [...path, "router", "router_agent"], undefined);
        const branches = await this.#branches(router.branches, [...path, "router", "branches"]);
        return this.#build(path, () =>
          Step.dynamicParallelBranch({
            name,
            routerAgent: agent,
            branches,
            mergeStrategy: spec.merge_strategy as MergeStrategy | undefined,
            onBranchFailure: spec.on_branch_failure as BranchFailureStrategy | undefined,
            contextIncludeKeys: spec.context_include_keys,
            fieldMapping: spec.field_mapping,
          }),
        );
      }
      case "hitl": {
        const message =
          spec.message === undefined
            ? undefined
            : isTemplate(spec.message)
              ? (() => {
                  const render = this.#template(spec.message, [...path, "message"]);
                  return (input: unknown, context: Ctx) => String(render(input, context));
                })()
              : spec.message;
        let inputSchema: Schema | undefined;
        if (spec.input_schema !== undefined) {
          try {
            inputSchema = z.fromJSONSchema(
              spec.input_schema as Parameters<typeof z.fromJSONSchema>[0],
            ) as Schema;
          } catch (err) {
            throw this.#fail([...path, "input_schema"], `invalid JSON Schema: ${(err as Error).message}`);
          }
        }
        return this.#build(path, () =>
          Step.humanInTheLoop({ name, messageForUser: message, inputSchema, ...common }),
        );
      }
      case "cache": {
        if (spec.wrapped_step === undefined) throw this.#fail(path, "a cache step needs 'wrapped_step'");
        const inner = await this.#step(spec.wrapped_step, [...path, "wrapped_step"]);
        const backend = this.options.cacheBackend?.();
        return this.#build(path, () => Step.cached(inner, backend === undefined ? {} : { backend }));
      }
      case "StateMachine": {
        if (spec.states === undefined || spec.start_state === undefined) {
          throw this.#fail(path, "a StateMachine step needs 'start_state' and 'states'");
        }
        const states: Record<string, Pipeline> = {};
        for (const [state, value] of Object.entries(spec.states)) {
          states[state] = await this.#branch(value, [...path, "states", state]);
        }
        const transitions: TransitionRule[] = (spec.transitions ?? []).map((t, i) => {
          const rule: TransitionRule = { from: t.from, on: t.on, to: t.to };
          if (t.when !== undefined) {
            const expr = this.#expression(t.when, [...path, "transitions", i, "when"]);
            rule.when = (payload, context) => truthy(expr(payload.lastOutput, context));
          }
          return rule;
        });
        return this.#build(path, () =>
          Step.stateMachine({
            name,
            states,
            startState: spec.start_state as string,
            endStates: spec.end_states,
            transitions,
          }),
        );
      }
    }
  }

  /** kind: step: an agent or callable from `uses`/`agent`, or an exported Step, with the YAML's settings. */
  async #simple(spec: StepSpec, name: string, path: Path): Promise<Step> {
    if (spec.uses !== undefined && spec.agent !== undefined) {
      throw this.#fail([...path, "agent"], "give 'uses' or 'agent', not both");
    }
    const ref = spec.uses ?? spec.agent;
    if (ref === undefined)
      throw this.#fail(path, `step '${name}' needs 'uses: "./module.js#export"' (or 'agent')`);
    const refPath = [...path, spec.uses !== undefined ? "uses" : "agent"];
    const id = typeof ref === "string" ? ref : ref.id;
    const params = typeof ref === "string" ? undefined : ref.params;
    const target = await this.#target(id, refPath, params);
    const options: Partial<StepOptions> = { name };
    if (spec.config !== undefined) options.config = this.#config(spec.config, [...path, "config"]);
    if (spec.updates_context !== undefined) options.updatesContext = spec.updates_context;
    if (spec.sink_to !== undefined) options.sinkTo = spec.sink_to;
    if (spec.meta !== undefined) options.meta = spec.meta;
    if (spec.fallback !== undefined)
      options.fallbackStep = await this.#step(spec.fallback, [...path, "fallback"]);
    if (spec.validators !== undefined) {
      options.validators = await Promise.all(
        spec.validators.map(async (v, i) => {
          const value = await this.#uses(v, [...path, "validators", i]);
          if (typeof value !== "function" && !hasMethod(value, "validate")) {
            throw new BlueprintImportError(
              `'${v}' is not a validator (a function or an object with validate())`,
              this.location([...path, "validators", i]),
            );
          }
          return value as Validator;
        }),
      );
    }
    if (spec.plugins !== undefined) {
      options.plugins = await Promise.all(
        spec.plugins.map(async (p, i) => {
          const ref = typeof p === "string" ? p : p.uses;
          const value = await this.#uses(ref, [...path, "plugins", i]);
          if (!hasMethod(value, "validate")) {
            throw new BlueprintImportError(
              `'${ref}' is not a plugin (an object with validate())`,
              this.location([...path, "plugins", i]),
            );
          }
          return [value as Plugin, typeof p === "string" ? 0 : (p.priority ?? 0)] as const;
        }),
      );
    }
    let prompt: Processor | undefined;
    if (spec.input !== undefined) {
      const render = this.#template(spec.input, [...path, "input"]);
      prompt = (data, { context }) => render(data, context);
    }
    if (target instanceof Step) {
      if (target.constructor !== Step) {
        const extra = Object.keys(spec).filter((k) => !["kind", "name", "step", "uses", "agent"].includes(k));
        if (extra.length > 0) {
          throw this.#fail(
            [...path, extra[0] as string],
            `'${id}' is a ${target.constructor.name}: it is used as it is, so '${extra[0]}' cannot be set here`,
          );
        }
        return target;
      }
      if (prompt !== undefined) {
        options.processors = {
          promptProcessors: [prompt, ...target.processors.promptProcessors],
          outputProcessors: target.processors.outputProcessors,
        };
      }
      if (options.config !== undefined) options.config = { ...target.config, ...options.config };
      return this.#build(path, () => target.with(options));
    }
    if (prompt !== undefined) options.processors = { promptProcessors: [prompt] };
    return this.#build(path, () => new Step({ ...options, name, agent: target }));
  }

  /** What a `uses` of kind: step names: a Step, an agent or a function. */
  async #target(
    ref: string,
    path: Path,
    params: Record<string, unknown> | undefined,
  ): Promise<Step | Agent | ((...a: unknown[]) => unknown)> {
    const value = await this.#uses(ref, path);
    if (value instanceof Step) return value;
    if (value instanceof Pipeline) {
      throw new BlueprintImportError(
        `'${ref}' is a Pipeline; a step's 'uses' needs a Step, an agent or a function`,
        this.location(path),
      );
    }
    return this.#asAgent(value, ref, path, params);
  }

  async #agent(
    ref: string,
    path: Path,
    params: Record<string, unknown> | undefined,
  ): Promise<Agent | ((...a: unknown[]) => unknown)> {
    return this.#asAgent(await this.#uses(ref, path), ref, path, params);
  }

  #asAgent(
    value: unknown,
    ref: string,
    path: Path,
    params: Record<string, unknown> | undefined,
  ): Agent | ((...a: unknown[]) => unknown) {
    if (params !== undefined) {
      // Flujo's `agent: { id, params }`: the export is a factory called with the params.
      if (typeof value !== "function")
        throw new BlueprintImportError(
          `'${ref}' is not a factory function, so it cannot take params`,
          this.location(path),
        );
      value = (value as (p: unknown) => unknown)(params);
    }
    if (typeof value === "function") return value as (...a: unknown[]) => unknown;
    if (hasMethod(value, "run")) return value as Agent;
    throw new BlueprintImportError(
      `'${ref}' is not a function, an agent (an object with run()) or a Step`,
      this.location(path),
    );
  }

  #config(config: Record<string, unknown>, path: Path): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
      const name = CONFIG_KEYS[key];
      if (name === undefined || !Object.hasOwn(CONFIG_KEYS, key)) {
        throw this.#fail([...path, key], `unknown config key '${key}'`, {
          suggestion: `Known keys: ${[...new Set(Object.keys(CONFIG_KEYS))].join(", ")}`,
        });
      }
      out[name] = value;
    }
    return out;
  }

  async #reducer(reduce: string, path: Path): Promise<ParallelReducer> {
    const builtin = BUILTIN_REDUCERS[reduce];
    if (builtin !== undefined) return builtin;
    return (await this.#fn(reduce, path)) as ParallelReducer;
  }
}

/** Flujo's `reduce:` presets, over the branches' outputs in declared order. */
const BUILTIN_REDUCERS: Readonly<Record<string, ParallelReducer>> = {
  keys: (_r, _c, outputs) => Object.keys(outputs),
  values: (results) => results.map(outputOf),
  union: (results) => Object.assign({}, ...results.map(outputOf).filter(isRecordValue)),
  concat: (results) => results.flatMap((r) => (Array.isArray(r.output) ? r.output : [r.output])),
  first: (results) => results.find((r) => r.output !== undefined)?.output,
  last: (results) => [...results].reverse().find((r) => r.output !== undefined)?.output,
};

function outputOf(r: StepResult): unknown {
  return r.output;
}

function isRecordValue(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hasMethod(value: unknown, method: string): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Record<string, unknown>)[method] === "function"
  );
}

/** Flujo normalises boolean branch keys to "true"/"false"; other values become their text. */
function branchKey(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

/** Compiles every string of a value that holds `{{ }}` into a template; the rest stays literal. */
function compileValue(value: unknown): (scope: Readonly<Record<string, unknown>>) => unknown {
  if (typeof value === "string") {
    if (!isTemplate(value)) return () => value;
    const t = compileTemplate(value);
    return (scope) => t.render(scope);
  }
  if (Array.isArray(value)) {
    const items = value.map(compileValue);
    return (scope) => items.map((f) => f(scope));
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => [k, compileValue(v)] as const);
    return (scope) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries)
        Object.defineProperty(out, k, {
          value: f(scope),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    };
  }
  return () => value;
}
