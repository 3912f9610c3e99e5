/**
 * `npm run bench`: prints every figure side by side in one run and writes bench/results/latest.json.
 * BENCH_TIME (ms per task, default 1000) trades precision for duration.
 */
import { writeFileSync } from "node:fs";
import { backend } from "../src/index.js";
import { engineBench } from "./engine.js";

const time = Number(process.env.BENCH_TIME ?? 1000);
console.log(
  `flujo benchmarks — backend: ${backend}, node ${process.version}, ${process.platform}-${process.arch}`,
);
if (!(globalThis as { gc?: unknown }).gc)
  console.log("(run with --expose-gc for heap figures: npm run bench does)");
const engine = await engineBench(time);
writeFileSync(
  new URL("./results/latest.json", import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), backend, node: process.version, engine }, null, 2)}\n`,
);
console.log("\nwritten: bench/results/latest.json");
