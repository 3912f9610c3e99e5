/**
 * Static checks of a pipeline graph (Flujo's `validate_graph`). The walk is structural: it never imports
 * the step-kind modules (they import step.ts, which imports pipeline.ts, which imports this file), so it
 * finds nested pipelines and steps by their shape: any own field of a step holding a step, a pipeline, or
 * an object/array of them (a loop's `body`, branches, states, a cache's `wrappedStep`, a `fallbackStep`).
 */
import { ConfigurationError } from "../domain/errors.js";
import type { Pipeline } from "./pipeline.js";
import type { Step } from "./step.js";

/** Marks HumanInTheLoopStep instances (set on its prototype in dsl/hitl.ts). */
export const HUMAN_IN_THE_LOOP: unique symbol = Symbol.for("flujo.step.humanInTheLoop");

export interface ValidationFinding {
  /** Flujo's rule id where one applies (V-A1, HITL-NESTED-001), or ours. */
  ruleId: string;
  severity: "error" | "warning";
  message: string;
  stepName: string | undefined;
  /** Where the step sits, e.g. "loop:review > conditional:check > branches.yes > hitl:ask". */
  path: string;
  suggestion?: string | undefined;
}

export interface ValidationReport {
  errors: ValidationFinding[];
  warnings: ValidationFinding[];
  /** True when there are no errors (warnings allowed). */
  isValid: boolean;
}

export interface ValidateGraphOptions {
  /** Throw ConfigurationError("Pipeline validation failed: ...") when there is any error. */
  raiseOnError?: boolean;
}

/** Fields of a step that never hold child steps; skipped by the walk. */
const NOT_CHILDREN = new Set([
  "name",
  "agent",
  "config",
  "plugins",
  "validators",
  "processors",
  "meta",
  "failureHandlers",
  "inputSchema",
  "cacheBackend",
]);

/**
 * Checks a pipeline: V-A1 (a plain step without an agent), HITL-NESTED-001 (a human-in-the-loop step
 * inside a conditional branch inside a loop body), and a warning for top-level steps sharing a name
 * (their `stepOutputs` entries collide). V-A2 (declared type mismatch) is not checked: steps declare an
 * input schema but no output type, so there is nothing sound to compare.
 */
export function validateGraph(pipeline: Pipeline, options: ValidateGraphOptions = {}): ValidationReport {
  const report: ValidationReport = { errors: [], warnings: [], isValid: true };
  const seenNames = new Map<string, number>();
  for (const step of pipeline.steps) {
    const count = seenNames.get(step.name) ?? 0;
    seenNames.set(step.name, count + 1);
    if (count === 1) {
      report.warnings.push({
        ruleId: "DUPLICATE-STEP-NAME",
        severity: "warning",
        message: `More than one top-level step is named '${step.name}': stepOutputs['${step.name}'] keeps only the last one's output.`,
        stepName: step.name,
        path: `pipeline > ${step.name}`,
        suggestion: "Give each top-level step its own name.",
      });
    }
  }
  const top: Scope = { inLoop: false, inConditional: false };
  for (const step of pipeline.steps) walkStep(step, report, top, ["pipeline"], new Set());
  report.isValid = report.errors.length === 0;
  if (options.raiseOnError && report.errors.length > 0) {
    const detail = report.errors
      .map((e) => `[${e.ruleId}] ${e.stepName === undefined ? "" : `${e.stepName}: `}${e.message}`)
      .join("; ");
    throw new ConfigurationError(`Pipeline validation failed: ${detail}`);
  }
  return report;
}

interface Scope {
  inLoop: boolean;
  inConditional: boolean;
}

function walkStep(
  step: Step,
  report: ValidationReport,
  scope: Scope,
  path: string[],
  ancestors: Set<Step>,
): void {
  if (ancestors.has(step)) return;
  const hitl = isHumanInTheLoopStep(step);
  const label = `${hitl ? "hitl:" : kindLabel(step)}${step.name}`;
  const here = [...path, label];
  if (!step.isComplex && step.agent === undefined) {
    report.errors.push({
      ruleId: "V-A1",
      severity: "error",
      message: `Step '${step.name}' is missing an agent. Pass \`agent\` to new Step(...) or build it with Step.fromCallable().`,
      stepName: step.name,
      path: here.join(" > "),
    });
  }
  if (hitl && scope.inLoop && scope.inConditional) {
    report.errors.push({
      ruleId: "HITL-NESTED-001",
      severity: "error",
      message:
        "HITL steps cannot be nested inside a conditional that runs within a loop. This structure is unsupported.",
      stepName: step.name,
      path: here.join(" > "),
      suggestion: "Place HITL steps at the top level of the loop body or remove the conditional wrapper.",
    });
  }
  const loop = isLoopLike(step);
  const conditional = isConditionalLike(step);
  ancestors.add(step);
  for (const [field, child] of childrenOf(step)) {
    // Flujo: a loop body starts a fresh scope for conditionals; a branch keeps the loop flag.
    const inner: Scope = loop
      ? { inLoop: true, inConditional: false }
      : conditional && field !== "fallbackStep"
        ? { inLoop: scope.inLoop, inConditional: true }
        : scope;
    walkStep(child, report, inner, [...here, field], ancestors);
  }
  ancestors.delete(step);
}

/** The first step in `root`'s subtree (root included, depth first) that `predicate` accepts. */
export function findStep(root: Step, predicate: (step: Step) => boolean): Step | undefined {
  const ancestors = new Set<Step>();
  const visit = (step: Step): Step | undefined => {
    if (ancestors.has(step)) return undefined;
    if (predicate(step)) return step;
    ancestors.add(step);
    try {
      for (const [, child] of childrenOf(step)) {
        const found = visit(child);
        if (found !== undefined) return found;
      }
    } finally {
      ancestors.delete(step);
    }
    return undefined;
  };
  return visit(root);
}

/**
 * Throws ConfigurationError when two different HITL steps of the pipeline share a name: a paused run
 * records the name of the step it waits on, and resuming it (in this process or another) finds the step
 * by that name, so the name must say which step it is.
 */
export function checkHitlNames(pipeline: Pipeline): void {
  const byName = new Map<string, Step>();
  for (const top of pipeline.steps) {
    findStep(top, (step) => {
      if (!isHumanInTheLoopStep(step)) return false;
      const seen = byName.get(step.name);
      if (seen !== undefined && seen !== step) {
        throw new ConfigurationError(
          `Two human-in-the-loop steps are named '${step.name}': a paused run is resumed by the name of the step it waits on, so give each HITL step its own name.`,
        );
      }
      byName.set(step.name, step);
      return false;
    });
  }
}

export function isHumanInTheLoopStep(step: unknown): boolean {
  return (
    typeof step === "object" &&
    step !== null &&
    (step as { [HUMAN_IN_THE_LOOP]?: unknown })[HUMAN_IN_THE_LOOP] === true
  );
}

/**
 * The steps nested in a step's own fields (directly, in a pipeline, or in an object or array of them),
 * each with the field path that holds it; a step reachable through two fields is listed once.
 */
function childrenOf(step: Step): Array<[string, Step]> {
  const out: Array<[string, Step]> = [];
  const seen = new Set<Step>();
  const add = (path: string, value: unknown): void => {
    if (isStepLike(value)) {
      if (!seen.has(value)) {
        seen.add(value);
        out.push([path, value]);
      }
    } else if (isPipelineLike(value)) {
      for (const s of value.steps) add(path, s);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) add(`${path}[${i}]`, value[i]);
    }
  };
  for (const field of Object.keys(step)) {
    if (NOT_CHILDREN.has(field)) continue;
    const value = (step as unknown as Record<string, unknown>)[field];
    if (isPlainObject(value)) {
      for (const key of Object.keys(value)) add(`${field}.${key}`, value[key]);
    } else {
      add(field, value);
    }
  }
  return out;
}

function isStepLike(value: unknown): value is Step {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { isComplex?: unknown }).isComplex === "boolean"
  );
}

function isPipelineLike(value: unknown): value is Pipeline {
  if (typeof value !== "object" || value === null || isStepLike(value)) return false;
  const steps = (value as { steps?: unknown }).steps;
  return Array.isArray(steps) && steps.every(isStepLike);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function classNames(step: Step): string[] {
  const names: string[] = [];
  for (
    let p = Object.getPrototypeOf(step);
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    const name = (p.constructor as { name?: unknown } | undefined)?.name;
    if (typeof name === "string") names.push(name);
  }
  return names;
}

/** A loop or map: a step with a `body` pipeline (LoopStep, MapStep). */
function isLoopLike(step: Step): boolean {
  if (isPipelineLike((step as unknown as { body?: unknown }).body)) return true;
  const names = classNames(step);
  return names.includes("LoopStep") || names.includes("MapStep");
}

/** A conditional: a step with branches chosen by a condition function (ConditionalStep). */
function isConditionalLike(step: Step): boolean {
  if (classNames(step).includes("ConditionalStep")) return true;
  const s = step as unknown as { branches?: unknown; condition?: unknown; conditionCallable?: unknown };
  return (
    isPlainObject(s.branches) &&
    (typeof s.condition === "function" || typeof s.conditionCallable === "function")
  );
}

function kindLabel(step: Step): string {
  if (isLoopLike(step)) return "loop:";
  if (isConditionalLike(step)) return "conditional:";
  return "";
}
