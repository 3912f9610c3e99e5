// Where time, money and failures go: a trace tree, metrics with percentiles, Prometheus text, an alert
// and the diagnostics of a failing nested step.
// Run it: npx tsx examples/observability.ts
import {
  consoleTracer,
  Flujo,
  failureReport,
  type HookPayload,
  Metrics,
  pipeline,
  type Span,
  Step,
} from "../src/index.js";

// An "LLM" that costs money and gets slower for long inputs; it fails on inputs that ask it to.
const summarize = new Step({
  name: "summarize",
  agent: {
    run: async (text: string) => {
      if (text.includes("poison")) throw new Error("model refused");
      await new Promise((r) => setTimeout(r, Math.min(20, text.length / 10)));
      return {
        output: text.slice(0, 40),
        costUsd: 0.001 * Math.ceil(text.length / 100),
        tokenCounts: text.length,
      };
    },
  },
  config: { maxRetries: 1 },
});

// A review loop: each iteration checks the summary; the loop ends once it is short enough.
const review = Step.loopUntil({
  name: "review",
  body: pipeline(
    Step.fromCallable((s: string) => s.trim(), { name: "tidy" }),
    summarize,
  ),
  maxLoops: 3,
  exitCondition: (out) => String(out).length <= 40,
});

function outline(span: Span, depth = 0): string[] {
  const ms = span.endTime === undefined ? "?" : (span.endTime - span.startTime).toFixed(2);
  return [
    `${"  ".repeat(depth)}${span.name} [${span.status}] ${ms} ms`,
    ...span.children.flatMap((c) => outline(c, depth + 1)),
  ];
}

export async function main(): Promise<{
  spans: number;
  runs: number;
  p95Ms: number;
  alerts: string[];
  failure: string | undefined;
  prometheusLines: number;
}> {
  const metrics = new Metrics();
  const alerts: string[] = [];
  const onAlert = (p: HookPayload) => {
    if (p.eventName === "alert" || p.eventName === "alert_resolved")
      alerts.push(`${p.eventName}: ${p.message}`);
  };
  const runner = new Flujo(pipeline(summarize, review), {
    pipelineName: "digest",
    tracing: true,
    metrics,
    enableCache: false,
    hooks: [onAlert],
    // More than $0.004 per run is a breach; it resolves at or below $0.0036 (10% hysteresis).
    alerts: [{ metric: "cost_per_run_usd", threshold: 0.004, name: "run cost" }],
  });

  const first = await runner.run("a short note about the weather");
  console.log(outline(first.traceTree!).join("\n"));
  for (const n of [50, 300, 800, 120, 60]) await runner.run("word ".repeat(n));
  const failed = await runner.run("poison pill");

  const snapshot = metrics.snapshot();
  const s = snapshot.steps.summarize;
  console.log(
    `summarize: ${s.count} runs, p50 ${s.latencyMs.p50.toFixed(2)} ms, p95 ${s.latencyMs.p95.toFixed(2)} ms, p99 ${s.latencyMs.p99.toFixed(2)} ms, $${s.costUsd.toFixed(3)}`,
  );
  console.log(
    "bottlenecks:",
    metrics.bottlenecks(3).byTotalTime.map((b) => `${b.step} ${(b.shareOfTotalTime * 100).toFixed(0)}%`),
  );
  console.log(alerts.join("\n"));
  const report = failureReport(failed);
  console.log(report);
  const text = metrics.prometheus();
  console.log(
    text
      .split("\n")
      .filter((l) => l.startsWith('flujo_step_duration_seconds{step="summarize"'))
      .join("\n"),
  );

  // The console tracer prints Flujo's panels; here for one run only.
  await new Flujo(summarize, { hooks: [consoleTracer()] }).run("hello");

  return {
    spans: first.traceTree!.children.length,
    runs: snapshot.pipelines.digest.runs,
    p95Ms: s.latencyMs.p95,
    alerts: alerts.map((a) => a.split(":")[0]),
    failure: report?.split("\n")[0],
    prometheusLines: text.split("\n").length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
