import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { Flujo, pipeline, Step } from "../../src/index.js";
import { RuntimeError, StubAgent } from "../support/agents.js";

const id = (name: string) => Step.fromCallable(async (x: unknown) => x, { name });

function sdk() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider };
}

const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("OpenTelemetry export", () => {
  afterEach(() => trace.disable());

  it("mirrors the trace tree to the given tracer: same names, nesting, attributes, events and status", async () => {
    const { exporter, provider } = sdk();
    const flaky = new Step({
      name: "flaky",
      agent: new StubAgent([new RuntimeError("boom"), { output: "ok", costUsd: 0.5, tokenCounts: 3 }]),
      config: { maxRetries: 1 },
    });
    const loop = Step.loopUntil({ name: "loop", body: id("inner"), maxLoops: 2, exitCondition: () => false });
    const result = await new Flujo(pipeline(flaky, loop), {
      tracing: { otel: provider.getTracer("test") },
    }).run("x");
    expect(result.status).toBe("failed"); // the loop reaches max_loops
    const spans = exporter.getFinishedSpans();
    const byName = (n: string) => spans.filter((s) => s.name === n);
    expect(spans.map((s) => s.name).sort()).toEqual(["flaky", "inner", "inner", "loop", "pipeline_run"]);
    const [root] = byName("pipeline_run");
    const [f] = byName("flaky");
    const [l] = byName("loop");
    expect(parentId(root)).toBeUndefined();
    expect(parentId(f)).toBe(root.spanContext().spanId);
    expect(parentId(l)).toBe(root.spanContext().spanId);
    for (const i of byName("inner")) expect(parentId(i)).toBe(l.spanContext().spanId);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(f.attributes).toMatchObject({
      "flujo.step.type": "Step",
      "flujo.attempt_number": 2,
      "flujo.cache.hit": false,
      success: true,
      "flujo.budget.actual_cost_usd": 0.5,
      "flujo.budget.actual_tokens": 3,
    });
    expect(f.events.map((e) => e.name)).toEqual(["flujo.retry"]);
    expect(f.status.code).toBe(1); // OK
    expect(l.status.code).toBe(2); // ERROR
    expect(l.status.message).toBe("reached max_loops");
    expect(root.attributes["flujo.run_id"]).toBe(result.finalPipelineContext!.runId);
    expect(root.attributes["flujo.status"]).toBe("failed");
  });

  it("otel: true uses the globally registered provider", async () => {
    const { exporter, provider } = sdk();
    trace.setGlobalTracerProvider(provider);
    await new Flujo(id("one"), { tracing: { otel: true } }).run(1);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["one", "pipeline_run"]);
  });

  it("without the option nothing reaches OpenTelemetry, even with a provider registered", async () => {
    const { exporter, provider } = sdk();
    trace.setGlobalTracerProvider(provider);
    const result = await new Flujo(id("one"), { tracing: true, metrics: true }).run(1);
    expect(result.traceTree).toBeDefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("a paused run's spans end with a paused event", async () => {
    const { exporter, provider } = sdk();
    await new Flujo(pipeline(id("a"), Step.humanInTheLoop({ name: "ask" })), {
      tracing: { otel: provider.getTracer("t") },
    }).run(1);
    const ask = exporter.getFinishedSpans().find((s) => s.name === "ask")!;
    expect(ask.events.map((e) => e.name)).toEqual(["flujo.paused"]);
    expect(ask.attributes["flujo.status"]).toBe("paused");
  });
});
