import { describe, expect, it } from "vitest";
import { Flujo, Metrics, pipeline, Step, stepResult, toPrometheus } from "../../src/index.js";
import { RuntimeError, StubAgent } from "../support/agents.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Parsed {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

/** A parser of the text exposition format 0.0.4 (what a Prometheus server reads), strict on syntax. */
function parse(text: string): Parsed {
  expect(text.endsWith("\n")).toBe(true);
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const [, name, ...rest] = line.slice(2).split(" ");
      help.set(name, rest.join(" "));
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [, name, type] = line.slice(2).split(" ");
      expect(["counter", "gauge", "summary", "histogram", "untyped"]).toContain(type);
      types.set(name, type);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[3] ?? "";
    while (rest.length > 0) {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
      if (l === null) throw new Error(`bad labels: ${m[3]}`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(l[0].length);
    }
    const raw = m[4];
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    expect(Number.isNaN(value) && raw !== "NaN").toBe(false);
    // Every sample belongs to a declared family (summary samples have _sum/_count suffixes).
    const family = m[1].replace(/_(sum|count)$/, "");
    expect(types.has(m[1]) || types.has(family)).toBe(true);
    samples.push({ name: m[1], labels, value });
  }
  return { types, help, samples };
}

function value(p: Parsed, name: string, labels: Record<string, string>): number | undefined {
  return p.samples.find(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

describe("Prometheus text exposition", () => {
  it("parses back to the snapshot's figures", async () => {
    const runner = new Flujo(
      pipeline(
        Step.fromCallable(async (x: unknown) => x, { name: "fast" }),
        new Step({
          name: "paid",
          agent: new StubAgent([new RuntimeError("x"), { output: 1, costUsd: 0.125, tokenCounts: 9 }]),
          config: { maxRetries: 1 },
        }),
      ),
      { metrics: true, pipelineName: "orders" },
    );
    await runner.run("a");
    await runner.run("b");
    const snap = runner.metrics!.snapshot();
    const parsed = parse(runner.metrics!.prometheus());
    expect(parsed.types.get("flujo_step_duration_seconds")).toBe("summary");
    expect(parsed.types.get("flujo_step_executions_total")).toBe("counter");
    expect(parsed.types.get("flujo_active_runs")).toBe("gauge");
    for (const step of ["fast", "paid"]) {
      const s = snap.steps[step];
      expect(value(parsed, "flujo_step_duration_seconds_count", { step })).toBe(s.count);
      expect(value(parsed, "flujo_step_duration_seconds", { step, quantile: "0.95" })).toBeCloseTo(
        s.latencyMs.p95 / 1000,
        9,
      );
      expect(value(parsed, "flujo_step_duration_seconds_sum", { step })).toBeCloseTo(
        (s.latencyMs.mean * s.count) / 1000,
        9,
      );
      expect(value(parsed, "flujo_step_executions_total", { step, outcome: "success" })).toBe(s.successes);
    }
    expect(value(parsed, "flujo_step_retries_total", { step: "paid" })).toBe(1);
    expect(value(parsed, "flujo_step_cost_usd_total", { step: "paid" })).toBe(0.25);
    expect(value(parsed, "flujo_step_tokens_total", { step: "paid" })).toBe(18);
    expect(value(parsed, "flujo_pipeline_runs_total", { pipeline: "orders", status: "completed" })).toBe(2);
    expect(value(parsed, "flujo_pipeline_duration_seconds_count", { pipeline: "orders" })).toBe(2);
    expect(value(parsed, "flujo_active_runs", {})).toBe(0);
    expect(value(parsed, "flujo_heap_used_bytes", {})).toBeGreaterThan(0);
  });

  it("escapes label values", () => {
    const m = new Metrics();
    const name = 'say "hi"\\\nthere';
    m.recordStep(name, 1, stepResult(name));
    const parsed = parse(toPrometheus(m.snapshot()));
    expect(value(parsed, "flujo_step_duration_seconds_count", { step: name })).toBe(1);
  });

  it("event-loop delay gauges appear when the monitor is on", () => {
    const m = new Metrics({ eventLoopDelay: true });
    try {
      const text = m.prometheus();
      // The monitor may have no sample yet; the text stays valid either way.
      parse(text);
    } finally {
      m.unwatchEventLoop();
    }
  });
});
