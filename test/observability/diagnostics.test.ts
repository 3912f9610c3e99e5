import { describe, expect, it } from "vitest";
import {
  consoleTracer,
  diagnosticsOf,
  Flujo,
  failureReport,
  pipeline,
  preview,
  rootCause,
  Step,
} from "../../src/index.js";
import { RuntimeError } from "../support/agents.js";

/** refine > loop[3] > critic: the critic asks for two revisions, then fails every attempt of the third. */
function refinement() {
  let critiques = 0;
  const critic = new Step({
    name: "critic",
    agent: {
      run: async (draft: string) => {
        critiques++;
        if (critiques <= 2) return { isComplete: false, feedback: `revise ${critiques}` };
        throw new RuntimeError(`critic overloaded (call ${critiques}, draft ${draft.length} chars)`);
      },
    },
    config: { maxRetries: 2 },
  });
  const generator = Step.fromCallable(
    async (input: { originalInput: string; feedback?: string }) =>
      `${input.originalInput} v${input.feedback ?? "0"}`,
    { name: "writer" },
  );
  return Step.refineUntil({ name: "refine", generator, critic, maxRefinements: 5 });
}

describe("failure diagnostics", () => {
  it("a failing nested step carries its path, its attempts with their feedback, and its input", async () => {
    const result = await new Flujo(refinement(), { tracing: true }).run("essay");
    expect(result.status).toBe("failed");
    const cause = rootCause(result)!;
    expect(cause.name).toBe("critic");
    const d = diagnosticsOf(cause)!;
    expect(d.stepPath).toBe("refine > loop[3] > critic");
    expect(d.attempts).toEqual([
      {
        attempt: 1,
        feedback: "Agent execution failed with RuntimeError: critic overloaded (call 3, draft 15 chars)",
      },
      {
        attempt: 2,
        feedback: "Agent execution failed with RuntimeError: critic overloaded (call 4, draft 15 chars)",
      },
      {
        attempt: 3,
        feedback: "Agent execution failed with RuntimeError: critic overloaded (call 5, draft 15 chars)",
      },
    ]);
    expect(d.inputPreview).toBe('"essay vrevise 2"');
    expect(d.feedback).toBe(cause.feedback);
    // The loop that failed because of it has its own path.
    expect(diagnosticsOf(result.stepHistory[0])!.stepPath).toBe("refine");
    expect(failureReport(result)).toBe(
      [
        "Step failed: refine > loop[3] > critic",
        `Feedback: ${cause.feedback}`,
        "  attempt 1: Agent execution failed with RuntimeError: critic overloaded (call 3, draft 15 chars)",
        "  attempt 2: Agent execution failed with RuntimeError: critic overloaded (call 4, draft 15 chars)",
        "  attempt 3: Agent execution failed with RuntimeError: critic overloaded (call 5, draft 15 chars)",
        'Input: "essay vrevise 2"',
      ].join("\n"),
    );
    // The span says the same.
    const loop = result.traceTree!.children[0];
    const criticSpans = loop.children.filter((s) => s.name === "critic");
    expect(criticSpans.map((s) => s.status)).toEqual(["completed", "completed", "failed"]);
    expect(criticSpans[2].events.map((e) => e.name)).toEqual(["flujo.retry", "flujo.retry"]);
  });

  it("paths name parallel and conditional branches", async () => {
    const bad = new Step({
      name: "bad",
      agent: { run: async () => Promise.reject(new RuntimeError("nope")) },
      config: { maxRetries: 0 },
    });
    const par = Step.parallel({
      name: "fan",
      branches: { ok: Step.fromCallable((x: unknown) => x, { name: "fine" }), broken: pipeline(bad) },
    });
    const result = await new Flujo(
      Step.branchOn({ name: "route", condition: () => "a", branches: { a: par } }),
      { metrics: true },
    ).run({ big: "x".repeat(500) });
    const cause = rootCause(result)!;
    expect(diagnosticsOf(cause)!.stepPath).toBe("route > branch[a] > fan > branch[broken] > bad");
    // Inputs are previewed, never copied whole.
    expect(diagnosticsOf(cause)!.inputPreview.length).toBeLessThanOrEqual(200);
    expect(diagnosticsOf(cause)!.attempts).toEqual([
      { attempt: 1, feedback: "Agent execution failed with RuntimeError: nope" },
    ]);
  });

  it("preview never throws and stays short", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(preview(cyclic)).toBe("[object Object]");
    expect(preview(10n)).toBe("10n");
    expect(preview(undefined)).toBe("undefined");
    expect(preview(function named() {})).toBe("[function named]");
    expect(preview("y".repeat(1000), 20)).toHaveLength(20);
  });
});

describe("console tracer", () => {
  function capture() {
    const out: string[] = [];
    return { out, write: (text: string) => void out.push(text) };
  }

  it("prints Flujo's panels as plain text", async () => {
    const c = capture();
    const step = new Step({
      name: "draft",
      agent: { run: async (x: string) => ({ output: `Re: ${x}`, costUsd: 0.0025 }) },
    });
    await new Flujo(
      pipeline(
        Step.fromCallable((x: string) => x, { name: "clean" }),
        step,
      ),
      {
        hooks: [consoleTracer({ write: c.write })],
      },
    ).run("hi");
    const text = c.out.join("");
    expect(text).not.toContain("\u001b[");
    const titles = [...text.matchAll(/┌─ ([^─]+?) ─/g)].map((m) => m[1]);
    expect(titles).toEqual([
      "Pipeline Start",
      "Step Start: clean",
      "Step End: clean",
      "Step Start: draft",
      "Step End: draft",
      "Pipeline End",
    ]);
    expect(text).toContain('│ Input: "hi"');
    expect(text).toContain("│ Status: SUCCESS");
    expect(text).toContain("│ Status: ✅ COMPLETED");
    expect(text).toContain("│ Total Steps Executed: 2");
    expect(text).toContain("│ Total Cost: $0.002500");
    expect(text).not.toContain("Output:");
  });

  it("debug level shows inputs and outputs; failures show feedback and the path; pauses say so", async () => {
    const c = capture();
    const failing = new Flujo(
      new Step({
        name: "bad",
        agent: { run: async () => Promise.reject(new RuntimeError("no")) },
        config: { maxRetries: 0 },
      }),
      { hooks: [consoleTracer({ level: "debug", write: c.write })], tracing: true },
    );
    await failing.run("in");
    const text = c.out.join("");
    expect(text).toContain("Step Start: bad");
    expect(text).toContain('│ Input: "in"');
    expect(text).toContain("Step Failure: bad");
    expect(text).toContain("│ Feedback: Agent execution failed with RuntimeError: no");
    expect(text).toContain("│ Status: ❌ FAILED");

    const p = capture();
    await new Flujo(Step.humanInTheLoop({ name: "ask" }), { hooks: [consoleTracer({ write: p.write })] }).run(
      "q",
    );
    expect(p.out.join("")).toContain("Pipeline Paused");
    expect(p.out.join("")).toContain("⏸ PAUSED");
  });

  it("a failure inside a loop shows the innermost failed step's path", async () => {
    const c = capture();
    const critic = new Step({
      name: "critic",
      agent: { run: async () => Promise.reject(new RuntimeError("overloaded")) },
      config: { maxRetries: 0 },
    });
    await new Flujo(
      pipeline(
        Step.loopUntil({ name: "refine", body: pipeline(critic), maxLoops: 2, exitCondition: () => false }),
      ),
      { hooks: [consoleTracer({ write: c.write })], tracing: true },
    ).run("draft");
    const text = c.out.join("");
    expect(text).toContain("Step Failure: refine");
    expect(text).toMatch(/│ Path: refine > loop\[2\] > critic/);
  });

  it("colours only when asked", async () => {
    const c = capture();
    await new Flujo(
      Step.fromCallable((x: unknown) => x, { name: "s" }),
      {
        hooks: [consoleTracer({ write: c.write, colorized: true })],
      },
    ).run(1);
    expect(c.out.join("")).toContain("\u001b[32m");
  });

  it("prints alerts", async () => {
    const c = capture();
    await new Flujo(
      Step.fromCallable((x: unknown) => x, { name: "s" }),
      {
        hooks: [consoleTracer({ write: c.write })],
        alerts: [{ metric: "heap_mb", threshold: 0.001, name: "heap" }],
      },
    ).run(1);
    expect(c.out.join("")).toContain("Alert: heap");
  });
});
