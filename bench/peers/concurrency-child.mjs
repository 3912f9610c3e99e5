/**
 * One engine × one size of the concurrency workload, in a process of its own (run.mjs spawns it with
 * --expose-gc, so each engine's heap is measured alone): `node --expose-gc concurrency-child.mjs ENGINE K`.
 * K concurrent runs of a 3-step pipeline whose middle step awaits a 1 ms timer, started at once; prints
 * one JSON line. The method is bench/concurrency.ts's: a warm-up round of min(K, 1000) runs; then the
 * timed round (latency from each run's start to its result, throughput = K / wall time); then the heap
 * per parked run: heap used after a forced GC while all K runs wait in their middle step (on a promise the
 * bench holds instead of the timer), minus the heap before, divided by K. That figure includes the bench's
 * own resolver closure per run, about 0.1 KB, for every engine alike.
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { createStep, createWorkflow } from "@mastra/core/workflows";
import { Flujo, pipeline, Step } from "flujo";
import { z } from "zod";
import { quantile } from "./lib/stats.mjs";

const [engine, kArg] = process.argv.slice(2);
const K = Number(kArg);

const inc = async (x) => x + 1;
const sleep1 = (x) => new Promise((r) => setTimeout(() => r(x + 1), 1));

/** Builds `(i) => Promise<output>` for the engine, with `middle` as the middle step's body. */
function build(middle) {
  switch (engine) {
    case "floor":
      return async (i) => inc(await middle(await inc(i)));
    case "flujo": {
      const runner = new Flujo(
        pipeline(
          Step.fromCallable(inc, { name: "a" }),
          Step.fromCallable(middle, { name: "wait" }),
          Step.fromCallable(inc, { name: "c" }),
        ),
        { enableCache: false },
      );
      return async (i) => {
        const r = await runner.run(i);
        return r.status === "completed" ? r.output : undefined;
      };
    }
    case "langgraph": {
      const S = Annotation.Root({ v: Annotation() });
      const graph = new StateGraph(S)
        .addNode("a", async (s) => ({ v: await inc(s.v) }))
        .addNode("wait", async (s) => ({ v: await middle(s.v) }))
        .addNode("c", async (s) => ({ v: await inc(s.v) }))
        .addEdge(START, "a")
        .addEdge("a", "wait")
        .addEdge("wait", "c")
        .addEdge("c", END)
        .compile();
      return async (i) => (await graph.invoke({ v: i })).v;
    }
    case "mastra": {
      const step = (id, fn) =>
        createStep({
          id,
          inputSchema: z.number(),
          outputSchema: z.number(),
          execute: ({ inputData }) => fn(inputData),
        });
      const wf = createWorkflow({ id: "conc", inputSchema: z.number(), outputSchema: z.number() })
        .then(step("a", inc))
        .then(step("wait", middle))
        .then(step("c", inc))
        .commit();
      return async (i) => {
        const r = await (await wf.createRun()).start({ inputData: i });
        return r.status === "success" ? r.result : undefined;
      };
    }
    default:
      throw new Error(`unknown engine '${engine}'`);
  }
}

async function timed(k) {
  const run = build(sleep1);
  const latencies = new Array(k);
  const start = performance.now();
  const outputs = await Promise.all(
    Array.from({ length: k }, (_, i) => {
      const t0 = performance.now();
      return run(i).then(
        (out) => {
          latencies[i] = performance.now() - t0;
          return out;
        },
        (err) => {
          latencies[i] = performance.now() - t0;
          return err;
        },
      );
    }),
  );
  const elapsed = performance.now() - start;
  const completed = outputs.filter((out, i) => out === i + 3).length;
  const firstError = outputs.find((out) => out instanceof Error);
  latencies.sort((a, b) => a - b);
  return {
    runs: k,
    completed,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    p99Ms: quantile(latencies, 0.99),
    runsPerS: k / (elapsed / 1000),
    elapsedMs: elapsed,
    firstError: firstError ? String(firstError.message ?? firstError) : undefined,
    // The shared field names of every scenario in results/*.json: per-run latency in ms, runs as iterations.
    mean: latencies.reduce((a, b) => a + b, 0) / k,
    median: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    min: latencies[0],
    max: latencies[k - 1],
    iterations: k,
    throughput: k / (elapsed / 1000),
  };
}

async function parkedHeap(k) {
  if (!globalThis.gc) return undefined;
  let parked = 0;
  const release = [];
  const run = build(
    (x) =>
      new Promise((resolve) => {
        parked++;
        release.push(() => resolve(x + 1));
      }),
  );
  await Promise.all([
    run(-1),
    (async () => {
      while (parked < 1) await new Promise((r) => setImmediate(r));
      release.pop()();
    })(),
  ]);
  parked = 0;
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const runs = Array.from({ length: k }, (_, i) => run(i));
  const deadline = performance.now() + 120_000;
  while (parked < k) {
    if (performance.now() > deadline) throw new Error(`only ${parked} of ${k} runs reached the middle step`);
    await new Promise((r) => setImmediate(r));
  }
  globalThis.gc();
  const during = process.memoryUsage().heapUsed;
  for (const r of release) r();
  await Promise.all(runs);
  return (during - before) / k;
}

await timed(Math.min(K, 1000)); // warm-up
const row = await timed(K);
let heapPerParkedRunBytes;
let heapError;
try {
  heapPerParkedRunBytes = await parkedHeap(K);
} catch (err) {
  heapError = String(err?.message ?? err);
}
const rssMb = process.memoryUsage().rss / 2 ** 20;
const memory = { heapPerParkedRunBytes: heapPerParkedRunBytes ?? null, rssMb };
console.log(JSON.stringify({ engine, ...row, memory, heapPerParkedRunBytes, heapError, rssMb }));
