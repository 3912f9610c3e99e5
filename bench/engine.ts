/**
 * Engine overhead: N sequential no-op steps through the runner, against a plain `await` chain of N functions
 * (the floor), with the cache off and with default settings; a cache hit; and Flujo's five validation
 * scenarios, run without the cache-hit confounder and printed beside Flujo's published baseline.
 */

import { ExecutorCore, Flujo, InMemoryCache, Pipeline, Step } from "flujo";
import { Bench } from "tinybench";
import { z } from "zod";
import { byName, gc, msFmt, printTable, us, type Validation, validation } from "./stats.js";

/** A typed context as users declare one: Flujo's fields plus the application's, validated by zod. */
const TypedContext = z.looseObject({
  customer: z.string().default("anonymous"),
  priority: z.enum(["low", "high"]).default("low"),
  attempts: z.number().int().default(0),
});

const SIZES = [10, 100, 1000, 10000];

function noopPipeline(n: number): Pipeline {
  const steps: Step[] = [];
  for (let i = 0; i < n; i++) steps.push(Step.fromCallable(async (x: unknown) => x, { name: `s${i}` }));
  return new Pipeline(steps);
}

function awaitChain(n: number): Array<(x: number) => Promise<number>> {
  const fns: Array<(x: number) => Promise<number>> = [];
  for (let i = 0; i < n; i++) fns.push(async (x: number) => x);
  return fns;
}

export interface EngineReport {
  perStep: Array<{
    n: number;
    floorUs: number;
    cacheOffUs: number;
    defaultUs: number;
    cacheHitUs: number;
    /** Default settings (cache on, every input new) with a zod contextSchema. */
    typedUs: number;
    cacheOffMs: number;
    defaultMs: number;
    /** Per run, in the shape of Flujo's validation JSON (seconds). */
    validation: {
      floor: Validation;
      cacheOff: Validation;
      default: Validation;
      typed: Validation;
      cacheHit: Validation;
    };
  }>;
  flujo: FlujoScenario[];
}

interface FlujoScenario {
  name: string;
  baselineMeanMs: number;
  meanMs: number;
  p95Ms: number;
  p99Ms: number;
  cacheOffMeanMs: number;
  heapDeltaMb: number | undefined;
  validation: Validation;
}

export async function engineBench(time: number): Promise<EngineReport> {
  const perStep: EngineReport["perStep"] = [];
  for (const n of SIZES) {
    // Bigger pipelines take longer per run; give each size about the same number of steps in total.
    const bench = new Bench({ time: time * (n >= 1000 ? 2 : 1), warmupTime: Math.min(200, time / 2) });
    const fns = awaitChain(n);
    const cacheOff = new Flujo(noopPipeline(n), { enableCache: false });
    const defaults = new Flujo(noopPipeline(n));
    const typed = new Flujo(noopPipeline(n), { contextSchema: TypedContext });
    // The default executor cache holds 1024 entries; a larger one lets every step of the largest pipeline hit.
    const hits = new Flujo(noopPipeline(n), { cache: new InMemoryCache({ maxSize: 2 * n }) });
    await hits.run(0);
    let unique = 0;
    bench
      .add("floor", async () => {
        let v = 0;
        for (const f of fns) v = await f(v);
        return v;
      })
      .add("cacheOff", async () => {
        await cacheOff.run(unique++);
      })
      .add("default", async () => {
        await defaults.run(unique++);
      })
      .add("typed", async () => {
        await typed.run(unique++);
      })
      .add("cacheHit", async () => {
        await hits.run(0);
      });
    gc();
    await bench.run();
    const f = byName(bench);
    perStep.push({
      n,
      floorUs: (f.get("floor")!.mean * 1000) / n,
      cacheOffUs: (f.get("cacheOff")!.mean * 1000) / n,
      defaultUs: (f.get("default")!.mean * 1000) / n,
      cacheHitUs: (f.get("cacheHit")!.mean * 1000) / n,
      typedUs: (f.get("typed")!.mean * 1000) / n,
      cacheOffMs: f.get("cacheOff")!.mean,
      defaultMs: f.get("default")!.mean,
      validation: {
        floor: validation(f.get("floor")!),
        cacheOff: validation(f.get("cacheOff")!),
        default: validation(f.get("default")!),
        typed: validation(f.get("typed")!),
        cacheHit: validation(f.get("cacheHit")!),
      },
    });
  }
  printTable(
    "Engine overhead per step (runner, N sequential no-op steps; µs per step = ms per run / N)",
    [
      "N",
      "await floor",
      "cache off",
      "ratio",
      "default (miss)",
      "typed context",
      "cache hit",
      "ms/run off",
      "ms/run default",
    ],
    perStep.map((r) => [
      String(r.n),
      `${r.floorUs.toFixed(3)} µs`,
      `${r.cacheOffUs.toFixed(3)} µs`,
      `${(r.cacheOffUs / r.floorUs).toFixed(1)}x`,
      `${r.defaultUs.toFixed(3)} µs`,
      `${r.typedUs.toFixed(3)} µs`,
      `${r.cacheHitUs.toFixed(3)} µs`,
      msFmt(r.cacheOffMs),
      msFmt(r.defaultMs),
    ]),
  );
  const flujo = await flujoScenarios(time);
  return { perStep, flujo };
}

/** A stub agent like Flujo's StubAgent: canned outputs, one after the other. */
function stubStep(name: string): Step {
  const outputs = Array.from({ length: 200 }, (_, i) => `output ${i}`);
  let i = 0;
  return new Step({
    name,
    agent: { run: async () => outputs[i++ % outputs.length] },
    config: { maxRetries: 1 },
  });
}

async function flujoScenarios(time: number): Promise<FlujoScenario[]> {
  // Flujo's baseline means (scripts/performance_validation.py@26643fe5, "12-core CPU"), in ms.
  const baseline: Record<string, number> = {
    execution: 0.06,
    memory: 1.28,
    concurrent: 0.7546,
    cache: 0.1163,
    context: 0.0521,
  };
  const results: FlujoScenario[] = [];
  for (const cacheOn of [true, false]) {
    const core = new ExecutorCore({ enableCache: cacheOn });
    const step = stubStep("stub");
    const ctx = { a: 1, b: "two" };
    let n = 0;
    const bench = new Bench({ time, warmupTime: Math.min(200, time / 2) });
    bench
      .add("execution", async () => {
        await core.execute(step, { test: n++ });
      })
      .add("memory", async () => {
        for (let i = 0; i < 50; i++) await core.execute(step, { iteration: i, run: n });
        n++;
      })
      .add("concurrent", async () => {
        const batch = [];
        for (let i = 0; i < 20; i++) batch.push(core.execute(step, { test: n++ }));
        await Promise.all(batch);
      })
      .add("cache", async () => {
        // a miss then a hit on the same fresh input (with the cache off: two misses)
        const input = { test: n++ };
        await core.execute(step, input);
        await core.execute(step, input);
      })
      .add("context", async () => {
        await core.execute(step, { test: n++ }, { context: ctx });
      });
    gc();
    await bench.run();
    const f = byName(bench);
    for (const name of Object.keys(baseline)) {
      const fig = f.get(name)!;
      const existing = results.find((r) => r.name === name);
      if (cacheOn) {
        results.push({
          name,
          baselineMeanMs: baseline[name],
          meanMs: fig.mean,
          p95Ms: fig.p95,
          p99Ms: fig.p99,
          cacheOffMeanMs: 0,
          heapDeltaMb: undefined,
          validation: validation(fig, {
            opsPerIteration: name === "memory" ? 50 : name === "concurrent" ? 20 : 1,
          }),
        });
      } else if (existing) {
        existing.cacheOffMeanMs = fig.mean;
      }
    }
  }
  results.find((r) => r.name === "memory")!.heapDeltaMb = await memoryLoopHeapDelta();
  printTable(
    "Flujo's five validation scenarios (ExecutorCore.execute, unique inputs: no cache-hit confounder)",
    ["scenario", "Flujo baseline mean", "flujo-ts mean", "p95", "p99", "speed-up", "cache off mean"],
    results.map((r) => [
      r.name,
      us(r.baselineMeanMs),
      us(r.meanMs),
      us(r.p95Ms),
      us(r.p99Ms),
      `${(r.baselineMeanMs / r.meanMs).toFixed(1)}x`,
      us(r.cacheOffMeanMs),
    ]),
  );
  const mem = results.find((r) => r.name === "memory")!;
  console.log(
    `\nmemory scenario: heap delta after 10 × 50 executes (after gc): ${mem.heapDeltaMb?.toFixed(3)} MB (Flujo: RSS +0.14 MB)`,
  );
  return results;
}

async function memoryLoopHeapDelta(): Promise<number> {
  const core = new ExecutorCore();
  const step = stubStep("mem");
  for (let i = 0; i < 50; i++) await core.execute(step, { iteration: i, warm: true });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let r = 0; r < 10; r++)
    for (let i = 0; i < 50; i++) await core.execute(step, { iteration: i, round: r });
  gc();
  return (process.memoryUsage().heapUsed - before) / 1024 / 1024;
}
