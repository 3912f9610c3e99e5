import { describe, expect, it } from "vitest";
import {
  Flujo,
  findSpans,
  MemoryBackend,
  PausedException,
  PipelineResult,
  pipeline,
  type Span,
  Step,
  toPlainSpan,
} from "../../src/index.js";
import { RuntimeError, StubAgent } from "../support/agents.js";

const id = (name: string) => Step.fromCallable(async (x: unknown) => x, { name });

interface Shape {
  name: string;
  children?: Shape[];
}

function shape(span: Span): Shape {
  return span.children.length === 0
    ? { name: span.name }
    : { name: span.name, children: span.children.map(shape) };
}

function nested() {
  let round = 0;
  return pipeline(
    id("a"),
    Step.loopUntil({
      name: "loop",
      body: pipeline(id("b"), id("c")),
      maxLoops: 5,
      exitCondition: () => ++round >= 2,
    }),
    Step.parallel({ name: "par", branches: { x: id("x1"), y: pipeline(id("y1"), id("y2")) } }),
    Step.branchOn({ name: "cond", condition: () => "yes", branches: { yes: id("z"), no: id("never") } }),
  );
}

describe("trace tree", () => {
  it("has a pipeline_run root and one span per step, nested steps under their loop, branch and parallel step", async () => {
    const result = await new Flujo(nested(), { tracing: true }).run("in");
    expect(result.status).toBe("completed");
    const root = result.traceTree!;
    expect(shape(root)).toEqual({
      name: "pipeline_run",
      children: [
        { name: "a" },
        {
          name: "loop",
          children: [{ name: "b" }, { name: "c" }, { name: "b" }, { name: "c" }],
        },
        { name: "par", children: [{ name: "x1" }, { name: "y1" }, { name: "y2" }] },
        { name: "cond", children: [{ name: "z" }] },
      ],
    });
    expect(root.status).toBe("completed");
    expect(root.attributes).toMatchObject({
      "flujo.input": '"in"',
      "flujo.run_id": result.finalPipelineContext!.runId,
      "flujo.pipeline.name": "unnamed",
      "flujo.pipeline.version": "latest",
    });
    const [loop] = findSpans(root, "loop");
    expect(loop.children.map((c) => c.attributes["flujo.loop.iteration"])).toEqual([1, 1, 2, 2]);
    for (const c of loop.children) expect(c.parentSpanId).toBe(loop.spanId);
    const [par] = findSpans(root, "par");
    expect(par.children.map((c) => c.attributes["flujo.branch"]).sort()).toEqual(["x", "y", "y"]);
    const [z] = findSpans(root, "z");
    expect(z.attributes["flujo.branch"]).toBe("yes");
    expect(loop.attributes).toMatchObject({ "flujo.step.type": "LoopStep", success: true });
    // Epoch milliseconds: a tree continued by a resume in another process keeps one clock.
    expect(Math.abs(root.startTime - Date.now())).toBeLessThan(60_000);
    // Every span ended, inside its parent's time.
    const walk = (s: Span) => {
      expect(s.endTime).toBeGreaterThanOrEqual(s.startTime);
      for (const c of s.children) {
        expect(c.startTime).toBeGreaterThanOrEqual(s.startTime);
        walk(c);
      }
    };
    walk(root);
  });

  it("the spans of plain steps made when the tree is read equal those made as the steps ran", async () => {
    // Capturing inputs makes every span as its step starts; without it a plain step that succeeded is
    // kept as a record until the tree is read.
    const plain = (s: Span): unknown => ({
      name: s.name,
      status: s.status,
      attributes: Object.fromEntries(
        Object.entries(s.attributes).filter(([k]) => k !== "step_input" && k !== "latency_s"),
      ),
      events: s.events.map((e) => e.name),
      children: s.children.map(plain),
    });
    const later = (await new Flujo(nested(), { tracing: true }).run("in")).traceTree!;
    const atOnce = (await new Flujo(nested(), { tracing: { captureInputs: true } }).run("in")).traceTree!;
    expect(findSpans(atOnce, "b")[0].attributes.step_input).toBe('"in"');
    const { "flujo.input": _a, "flujo.run_id": _b, ...rootLater } = later.attributes;
    expect(plain(later)).toEqual({ ...(plain(atOnce) as object), attributes: expect.anything() });
    expect(rootLater).toMatchObject({ "flujo.steps": 4 });
    const walk = (s: Span) => {
      for (const c of s.children) {
        expect(c.parentSpanId).toBe(s.spanId);
        expect(c.startTime).toBeGreaterThanOrEqual(s.startTime);
        expect(c.endTime!).toBeGreaterThanOrEqual(c.startTime);
        expect(c.endTime!).toBeLessThanOrEqual(s.endTime!);
        walk(c);
      }
    };
    walk(later);
    const [b] = findSpans(later, "b");
    // Epoch milliseconds hold about a quarter of a µs.
    expect(b.endTime! - b.startTime).toBeCloseTo((b.attributes.latency_s as number) * 1000, 3);
  });

  it("a plain step that pauses has a paused span with its start", async () => {
    const asks = Step.fromCallable(
      async () => {
        throw new PausedException("need a human");
      },
      { name: "asks" },
    );
    const result = await new Flujo(pipeline(id("a"), asks), { tracing: true }).run(1);
    expect(result.status).toBe("paused");
    const [a, span] = result.traceTree!.children;
    expect(span.name).toBe("asks");
    expect(span.status).toBe("paused");
    expect(span.events.map((e) => e.name)).toEqual(["flujo.paused"]);
    expect(span.startTime).toBeGreaterThanOrEqual(a.endTime!);
    expect(span.endTime!).toBeGreaterThanOrEqual(span.startTime);
  });

  it("step spans carry Flujo's attribute names", async () => {
    const step = new Step({
      name: "paid",
      agent: new StubAgent([{ output: "ok", costUsd: 0.25, tokenCounts: 40 }]),
    });
    const result = await new Flujo(step, {
      tracing: { captureInputs: true },
      usageLimits: { totalCostUsdLimit: 10, totalTokensLimit: 1000 },
    }).run({ q: 1 });
    const [span] = result.traceTree!.children;
    expect(span.attributes).toEqual({
      "flujo.step.type": "Step",
      "flujo.attempt_number": 1,
      "flujo.budget.quota_before_usd": 10,
      "flujo.budget.quota_before_tokens": 1000,
      "flujo.cache.hit": false,
      step_input: '{"q":1}',
      success: true,
      latency_s: result.stepHistory[0].latencyS,
      "flujo.budget.actual_cost_usd": 0.25,
      "flujo.budget.actual_tokens": 40,
    });
    expect(result.traceTree!.attributes).toMatchObject({
      "flujo.budget.initial_cost_usd": 10,
      "flujo.budget.initial_tokens": 1000,
      "flujo.total_cost_usd": 0.25,
      "flujo.total_tokens": 40,
    });
  });

  it("records retries, fallbacks and failures as events and attributes", async () => {
    const flaky = new Step({
      name: "flaky",
      agent: new StubAgent([new RuntimeError("boom"), "fine"]),
      config: { maxRetries: 1 },
    });
    const primary = new Step({
      name: "primary",
      agent: new StubAgent([new RuntimeError("down")]),
      config: { maxRetries: 0 },
      fallbackStep: id("backup"),
    });
    const bad = new Step({
      name: "bad",
      agent: new StubAgent([new RuntimeError("no")]),
      config: { maxRetries: 0 },
    });
    const result = await new Flujo(pipeline(flaky, primary, bad), { tracing: true }).run("x");
    const [f, p, b] = result.traceTree!.children;
    expect(f.events.map((e) => e.name)).toEqual(["flujo.retry"]);
    expect(f.events[0].attributes).toMatchObject({ attempt: 1, feedback: expect.stringContaining("boom") });
    expect(f.attributes["flujo.attempt_number"]).toBe(2);
    expect(p.events.map((e) => e.name)).toEqual(["flujo.fallback.triggered"]);
    expect(p.children.map((c) => c.name)).toEqual(["backup"]);
    expect(p.status).toBe("completed");
    expect(b.status).toBe("failed");
    expect(b.attributes).toMatchObject({ success: false, feedback: expect.stringContaining("no") });
    expect(result.traceTree!.status).toBe("failed");
  });

  it("marks cache hits", async () => {
    const runner = new Flujo(id("same"), { tracing: true });
    await runner.run("k");
    const second = await runner.run("k");
    expect(second.traceTree!.children[0].attributes["flujo.cache.hit"]).toBe(true);
  });

  it("a pause marks the spans paused; the resumed run continues the tree with a resumed event", async () => {
    const runner = new Flujo(pipeline(id("before"), Step.humanInTheLoop({ name: "ask" }), id("after")), {
      tracing: true,
    });
    const paused = await runner.run("q");
    expect(paused.status).toBe("paused");
    const tree = paused.traceTree!;
    expect(tree.status).toBe("paused");
    expect(tree.events.map((e) => e.name)).toContain("flujo.paused");
    expect(tree.children.map((c) => [c.name, c.status])).toEqual([
      ["before", "completed"],
      ["ask", "paused"],
    ]);
    // Through JSON, as a paused result waiting for a human would be stored.
    const done = await runner.resume(PipelineResult.fromJSON(JSON.stringify(paused)), "yes");
    expect(done.status).toBe("completed");
    const resumed = done.traceTree!;
    expect(resumed.spanId).toBe(tree.spanId);
    expect(resumed.status).toBe("completed");
    expect(resumed.events.map((e) => e.name)).toEqual(["flujo.paused", "flujo.resumed"]);
    expect(resumed.children.map((c) => c.name)).toEqual(["before", "ask", "after"]);
  });

  it("is saved through the state backend, and continued when a run is resumed by id", async () => {
    const backend = new MemoryBackend();
    const p = pipeline(id("one"), Step.humanInTheLoop({ name: "ask" }), id("two"));
    const paused = await new Flujo(p, { tracing: true, stateBackend: backend }).run("q", { runId: "r1" });
    expect(await backend.getTrace("r1")).toEqual(toPlainSpan(paused.traceTree!));
    const done = await new Flujo(p, { tracing: true, stateBackend: backend }).resume("r1", "ok");
    const saved = (await backend.getTrace("r1")) as Span;
    expect(saved.status).toBe("completed");
    expect(saved.children.map((c) => c.name)).toEqual(["one", "ask", "two"]);
    expect(saved).toEqual(toPlainSpan(done.traceTree!));
  });

  it("JSON of the result holds the tree as plain data", async () => {
    const result = await new Flujo(nested(), { tracing: true }).run(1);
    const parsed = JSON.parse(JSON.stringify(result)) as { traceTree: Span };
    expect(shape(parsed.traceTree)).toEqual(shape(result.traceTree!));
    expect(parsed.traceTree.children[0].attributes["flujo.step.type"]).toBe("Step");
  });

  it("is off by default: no tree, no diagnostics", async () => {
    const result = await new Flujo(
      pipeline(id("a"), new Step({ name: "bad", agent: new StubAgent([new RuntimeError("x")]) })),
    ).run(1);
    expect(result.traceTree).toBeUndefined();
    expect(result.stepHistory[1].metadata.diagnostics).toBeUndefined();
  });
});
