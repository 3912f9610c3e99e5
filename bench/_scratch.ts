import { Flujo, Pipeline, Step } from "../src/index.js";

const n = Number(process.argv[2] ?? 10000);
const steps: Step[] = [];
for (let i = 0; i < n; i++) steps.push(Step.fromCallable(async (x: unknown) => x, { name: `s${i}` }));
const runner = new Flujo(new Pipeline(steps), { enableCache: false });
const reps = Math.max(20, 200000 / n);
for (let r = 0; r < 5; r++) await runner.run(r);
const t0 = performance.now();
for (let r = 0; r < reps; r++) await runner.run(r);
const t = performance.now() - t0;
console.log(`n=${n} per step ${((t * 1000) / reps / n).toFixed(3)} µs`);
