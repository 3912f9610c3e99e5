import { describe, expect, it } from "vitest";
import { ConfigurationError, Pipeline, pipeline, Step, validateGraph } from "../../src/index.js";

const fn = (name: string) => Step.fromCallable(async (x: unknown) => x, { name });
const hitl = (name: string) => Step.humanInTheLoop({ name, messageForUser: "?" });
const loop = (name: string, body: Step | Pipeline) =>
  Step.loopUntil({ name, body, exitCondition: () => true, maxLoops: 2 });
const branch = (name: string, branches: Record<string, Step | Pipeline>, defaultBranch?: Step | Pipeline) =>
  Step.branchOn({ name, condition: () => "a", branches, defaultBranch });

describe("validateGraph", () => {
  it("a well-formed pipeline has no findings", () => {
    const report = pipeline(fn("a"), loop("l", pipeline(fn("b"), hitl("ask"))), fn("c")).validateGraph();
    expect(report).toEqual({ errors: [], warnings: [], isValid: true });
  });

  it("case 56: a HITL step in a conditional inside a loop is HITL-NESTED-001; raiseOnError throws", () => {
    const p = pipeline(
      fn("start"),
      loop("review", pipeline(fn("draft"), branch("maybe_ask", { a: hitl("ask_user"), b: fn("skip") }))),
    );
    const report = p.validateGraph();
    expect(report.isValid).toBe(false);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({
      ruleId: "HITL-NESTED-001",
      severity: "error",
      stepName: "ask_user",
      path: "pipeline > loop:review > body > conditional:maybe_ask > branches.a > hitl:ask_user",
    });
    expect(report.errors[0].message).toContain("HITL");

    expect(() => p.validateGraph({ raiseOnError: true })).toThrow(ConfigurationError);
    expect(() => p.validateGraph({ raiseOnError: true })).toThrow(
      /^Pipeline validation failed: \[HITL-NESTED-001\] ask_user: /,
    );
  });

  it("HITL-NESTED-001 also covers the default branch and deeper branches", () => {
    const viaDefault = pipeline(loop("l", branch("c", { a: fn("x") }, hitl("h"))));
    expect(viaDefault.validateGraph().errors.map((e) => e.ruleId)).toEqual(["HITL-NESTED-001"]);
    const deeper = pipeline(
      loop("l", branch("c1", { a: branch("c2", { b: pipeline(fn("x"), hitl("h")) }) })),
    );
    expect(deeper.validateGraph().errors.map((e) => [e.ruleId, e.stepName])).toEqual([
      ["HITL-NESTED-001", "h"],
    ]);
  });

  it("HITL directly in a loop body, in a conditional outside any loop, or in a loop inside a conditional is allowed", () => {
    expect(pipeline(loop("l", hitl("h"))).validateGraph().isValid).toBe(true);
    expect(pipeline(branch("c", { a: hitl("h") })).validateGraph().isValid).toBe(true);
    expect(pipeline(branch("c", { a: loop("l", hitl("h")) })).validateGraph().isValid).toBe(true);
    // As in Flujo, a loop body starts a fresh scope: loop > conditional > loop > HITL passes.
    expect(pipeline(loop("l1", branch("c", { a: loop("l2", hitl("h")) }))).validateGraph().isValid).toBe(
      true,
    );
  });

  it("V-A1: a plain step without an agent, at the top level or nested anywhere", () => {
    const report = pipeline(
      new Step({ name: "top" }),
      loop("l", new Step({ name: "in_body" })),
      fn("with_fallback").fallback(new Step({ name: "bare_fallback" })),
      Step.cached(new Step({ name: "wrapped" })),
      branch("c", { a: new Step({ name: "in_branch" }) }),
    ).validateGraph();
    expect(report.errors.map((e) => [e.ruleId, e.stepName])).toEqual([
      ["V-A1", "top"],
      ["V-A1", "in_body"],
      ["V-A1", "bare_fallback"],
      ["V-A1", "wrapped"],
      ["V-A1", "in_branch"],
    ]);
    expect(report.errors[0].message).toBe(
      "Step 'top' is missing an agent. Pass `agent` to new Step(...) or build it with Step.fromCallable().",
    );
    expect(report.errors[1].path).toBe("pipeline > loop:l > body > in_body");
    expect(() => pipeline(new Step({ name: "top" })).validateGraph({ raiseOnError: true })).toThrow(
      "Pipeline validation failed: [V-A1] top: Step 'top' is missing an agent.",
    );
  });

  it("complex steps (loops, HITL, cache) need no agent of their own", () => {
    const report = pipeline(loop("l", fn("x")), hitl("h"), Step.cached(fn("y"))).validateGraph();
    expect(report.errors).toEqual([]);
  });

  it("warns when top-level steps share a name (their stepOutputs entries collide)", () => {
    const report = pipeline(fn("dup"), fn("other"), fn("dup"), fn("dup")).validateGraph();
    expect(report.isValid).toBe(true);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatchObject({
      ruleId: "DUPLICATE-STEP-NAME",
      severity: "warning",
      stepName: "dup",
    });
    // Warnings never raise.
    expect(() => pipeline(fn("dup"), fn("dup")).validateGraph({ raiseOnError: true })).not.toThrow();
  });

  it("is also a standalone function", () => {
    const p = new Pipeline([new Step({ name: "bare" })]);
    expect(validateGraph(p)).toEqual(p.validateGraph());
  });
});
