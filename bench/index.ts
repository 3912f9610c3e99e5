/**
 * `npm run bench`: prints every figure side by side in one run and writes bench/results/latest.json.
 * BENCH_TIME (ms per task, default 1000) trades precision for duration. `npm run bench -- --quick` runs
 * every section briefly and writes nothing: CI runs it so the benchmarks keep working (it checks that
 * they run, never their figures).
 */
import { writeFileSync } from "node:fs";
import { backend } from "flujo";
import { concurrencyBench } from "./concurrency.js";
import { engineBench } from "./engine.js";
import { loopBench } from "./loop.js";
import { memoryBench } from "./memory.js";
import { nativeBench } from "./native.js";
import { observabilityBench } from "./observability.js";
import { parallelBench } from "./parallel.js";
import { stateBench } from "./state.js";
import { freeMemGb, machine, markdown, targetRows, validationScenarios } from "./summary.js";

const quick = process.argv.includes("--quick");
const time = quick ? 20 : Number(process.env.BENCH_TIME ?? 1000);
console.log(
  `flujo benchmarks — backend: ${backend}, node ${process.version}, ${process.platform}-${process.arch}${quick ? " (quick: figures are not meaningful)" : ""}`,
);
if (!(globalThis as { gc?: unknown }).gc)
  console.log("(run with --expose-gc for heap figures: npm run bench does)");
// BENCH_ONLY=engine,loop,parallel,state,native,concurrency,memory,observability runs a subset (the JSON then holds only those).
const only = new Set(
  (process.env.BENCH_ONLY ?? "engine,loop,parallel,state,native,concurrency,memory,observability").split(","),
);
const engine = only.has("engine") ? await engineBench(time) : undefined;
const loop = only.has("loop") ? await loopBench(time) : undefined;
const parallel = only.has("parallel") ? await parallelBench(time) : undefined;
const state = only.has("state") ? await stateBench(time) : undefined;
const native = only.has("native") ? await nativeBench(time) : undefined;
const concurrency = only.has("concurrency") ? await concurrencyBench(quick) : undefined;
const memory = only.has("memory") ? await memoryBench(quick) : undefined;
const observability = only.has("observability") ? await observabilityBench(time, quick) : undefined;
const host = machine(backend);
const table = markdown(targetRows({ engine, parallel, concurrency, memory, observability }), host, quick);
console.log(`\n## Targets (Markdown; the README's Performance section shows this table)\n\n${table}`);
if (!quick) {
  const scenarios = validationScenarios(engine);
  writeFileSync(
    new URL("./results/latest.json", import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), machine: { ...host, freeMemGb: freeMemGb() }, scenarios, engine, loop, parallel, state, native, concurrency, memory, observability }, null, 2)}\n`,
  );
  writeFileSync(new URL("./results/latest.md", import.meta.url), table);
  console.log("written: bench/results/latest.json, bench/results/latest.md");
}
