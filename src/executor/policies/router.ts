import { hasOwn } from "../../context/containers.js";
import { type StepResult, stepResult } from "../../domain/results.js";
import type { ParallelSpec } from "../../dsl/parallel.js";
import type { DynamicParallelRouterStep } from "../../dsl/router.js";
import type { Step } from "../../dsl/step.js";
import { now } from "../clock.js";
import type { Policy } from "../registry.js";
import { runParallel } from "./parallel.js";

/**
 * Flujo's dynamic router (flujo-behaviour.md §2.14): the router agent's step picks branch names, unknown
 * names are dropped, and the chosen branches run through the parallel algorithm with the router's merge
 * and failure settings. The router's usage is added to the result.
 */
export const routerPolicy: Policy = async (frame, step, data) => {
  const router = step as DynamicParallelRouterStep;
  const start = now();
  const routed = await frame.core.run(frame, router.routerStep, data);
  const fail = (feedback: string): StepResult =>
    stepResult(router.name, {
      success: false,
      attempts: 1,
      feedback,
      costUsd: routed.costUsd,
      tokenCounts: routed.tokenCounts,
      branchContext: frame.context,
      latencyS: (now() - start) / 1000,
    });
  if (!routed.success) return fail(`Router agent failed: ${routed.feedback ?? ""}`);

  let selected = routed.output;
  if (typeof selected === "string") selected = [selected];
  if (!Array.isArray(selected)) {
    return fail(`Router agent must return a list of branch names, got ${typeName(selected)}`);
  }
  const chosen: string[] = [];
  for (const name of selected) {
    if (typeof name === "string" && hasOwn(router.branches, name) && !chosen.includes(name))
      chosen.push(name);
  }
  if (chosen.length === 0) {
    return stepResult(router.name, {
      success: true,
      attempts: 1,
      output: {},
      costUsd: routed.costUsd,
      tokenCounts: routed.tokenCounts,
      branchContext: frame.context,
      latencyS: (now() - start) / 1000,
    });
  }

  const mapping = router.fieldMapping;
  let fieldMapping: Record<string, readonly string[]> | undefined;
  if (mapping !== undefined) {
    fieldMapping = {};
    for (const name of chosen) if (hasOwn(mapping, name)) fieldMapping[name] = mapping[name];
  }
  const spec: ParallelSpec = {
    name: router.name,
    branchNames: chosen,
    branchSteps: chosen.map((name): readonly Step[] => router.branches[name].steps),
    contextIncludeKeys: router.contextIncludeKeys,
    mergeStrategy: router.mergeStrategy,
    onBranchFailure: router.onBranchFailure,
    fieldMapping,
    reduce: undefined,
    concurrencyLimit: undefined,
  };
  const result = await runParallel(frame, spec, data);
  result.costUsd += routed.costUsd;
  result.tokenCounts += routed.tokenCounts;
  // Flujo records what the router returned, unknown names included.
  result.metadata.executedBranches = [...selected];
  result.latencyS = (now() - start) / 1000;
  return result;
};

/** A type name for the error message, like Python's `type(x).__name__`. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === "string" && ctor.name !== "" ? ctor.name : "object";
}
