import { ConfigurationError } from "../domain/errors.js";
import type { HookFunction } from "../telemetry/events.js";
import { describe } from "./config.js";
import { Step } from "./step.js";
import { type ValidateGraphOptions, type ValidationReport, validateGraph } from "./validate.js";

export interface PipelineOptions {
  hooks?: readonly HookFunction[];
  /** Hooks that receive only the post_run event. */
  onFinish?: readonly HookFunction[];
}

/** An ordered, immutable list of steps with its hooks. Build with `pipeline(a, b)`, `a.pipe(b)` or `Pipeline.fromStep`. */
export class Pipeline<In = unknown, Out = unknown> {
  readonly steps: readonly Step[];
  readonly hooks: readonly HookFunction[];
  readonly onFinish: readonly HookFunction[];

  constructor(steps: readonly Step[], options: PipelineOptions = {}) {
    if (!Array.isArray(steps))
      throw new ConfigurationError(`Pipeline steps must be an array, got ${describe(steps)}`);
    steps.forEach((s, i) => {
      if (!(s instanceof Step)) {
        throw new ConfigurationError(`Pipeline step ${i} must be a Step, got ${describe(s)}`);
      }
    });
    for (const [field, list] of [
      ["hooks", options.hooks ?? []],
      ["onFinish", options.onFinish ?? []],
    ] as const) {
      for (const h of list) {
        if (typeof h !== "function")
          throw new ConfigurationError(`Pipeline ${field} must be functions, got ${describe(h)}`);
      }
    }
    this.steps = Object.freeze([...steps]);
    this.hooks = Object.freeze([...(options.hooks ?? [])]);
    this.onFinish = Object.freeze([...(options.onFinish ?? [])]);
    Object.freeze(this);
  }

  static fromStep<I, O>(step: Step<I, O>): Pipeline<I, O> {
    return new Pipeline<I, O>([step as Step]);
  }

  /** A new pipeline: these steps followed by `next`'s. Hooks are concatenated too. */
  pipe<Next>(next: Step<Out, Next> | Pipeline<Out, Next>): Pipeline<In, Next> {
    if (next instanceof Pipeline) {
      return new Pipeline<In, Next>([...this.steps, ...next.steps], {
        hooks: [...this.hooks, ...next.hooks],
        onFinish: [...this.onFinish, ...next.onFinish],
      });
    }
    if (!(next instanceof Step)) {
      throw new ConfigurationError(`Pipeline.pipe needs a Step or a Pipeline, got ${describe(next)}`);
    }
    return new Pipeline<In, Next>([...this.steps, next as Step], {
      hooks: this.hooks,
      onFinish: this.onFinish,
    });
  }

  /**
   * Flujo's `validate_graph`: static checks of this pipeline and every nested step (dsl/validate.ts).
   * With `raiseOnError`, any error throws ConfigurationError("Pipeline validation failed: ...").
   */
  /**
   * This pipeline as one step of another (Flujo's `as_step`): it runs in a runner of its own with default
   * options. For hooks, limits or a context schema, build the runner and call `runner.asStep(name)`.
   */
  asStep(name: string, options: { inheritContext?: boolean } = {}): Step<In, unknown> {
    const compose = composers.asStep;
    if (compose === undefined) throw new Error('Pipeline.asStep is not available: import it from "flujo"');
    return compose(this as Pipeline, name, options) as Step<In, unknown>;
  }

  validateGraph(options: ValidateGraphOptions = {}): ValidationReport {
    return validateGraph(this, options);
  }

  /** A copy with hooks added. */
  withHooks(options: PipelineOptions): Pipeline<In, Out> {
    return new Pipeline<In, Out>(this.steps, {
      hooks: [...this.hooks, ...(options.hooks ?? [])],
      onFinish: [...this.onFinish, ...(options.onFinish ?? [])],
    });
  }
}

/**
 * Filled in by runner/compose.ts: composing a pipeline into a step needs the runner, which imports this
 * module, so the link is made at load time instead of by an import (as `stepKinds` does for step kinds).
 */
export const composers: {
  asStep?: (pipeline: Pipeline, name: string, options: { inheritContext?: boolean }) => Step;
} = {};

type Composable = Step | Pipeline;

/** `pipeline(a, b, c)`: steps and pipelines flattened, in order. */
export function pipeline<In = unknown, Out = unknown>(...items: Composable[]): Pipeline<In, Out> {
  const steps: Step[] = [];
  const hooks: HookFunction[] = [];
  const onFinish: HookFunction[] = [];
  items.forEach((item, i) => {
    if (item instanceof Pipeline) {
      steps.push(...item.steps);
      hooks.push(...item.hooks);
      onFinish.push(...item.onFinish);
    } else if (item instanceof Step) {
      steps.push(item);
    } else {
      throw new ConfigurationError(
        `pipeline(): argument ${i} must be a Step or a Pipeline, got ${describe(item)}`,
      );
    }
  });
  return new Pipeline<In, Out>(steps, { hooks, onFinish });
}
