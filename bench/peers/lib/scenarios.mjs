/**
 * Flujo's five validation scenarios for flujo-ts, defined as in bench/engine.ts (flujoScenarios) and in
 * bench/flujo_baseline.py, so the TypeScript and Python figures of one run sit side by side. Plus the
 * original script's protocol for "execution" (the same input every call: nearly all cache hits), which
 * is what the published 60.0 µs measured.
 */
import { ExecutorCore, Step } from "flujo";
import { Bench } from "tinybench";
import { figures, gc, memoryHooks } from "./stats.mjs";

function stubStep(name) {
  const outputs = Array.from({ length: 200 }, (_, i) => `output ${i}`);
  let i = 0;
  return new Step({
    name,
    agent: { run: async () => outputs[i++ % outputs.length] },
    config: { maxRetries: 1 },
  });
}

function ok(r) {
  if (!r.success) throw new Error(`scenario step failed: ${r.feedback}`);
}

export async function flujoScenarios(options) {
  const out = {};
  for (const cacheOn of [true, false]) {
    const core = new ExecutorCore({ enableCache: cacheOn });
    const step = stubStep("stub");
    const ctx = { a: 1, b: "two" };
    const fixed = { test: "execution_performance" };
    let n = 0;
    const bench = new Bench(options);
    const memory = new Map();
    const add = (name, fn) => {
      const m = memoryHooks();
      memory.set(name, m);
      bench.add(name, fn, m.hooks);
    };
    add("execution", async () => ok(await core.execute(step, { test: n++ })));
    add("memory", async () => {
      for (let i = 0; i < 50; i++) ok(await core.execute(step, { iteration: i, run: n }));
      n++;
    });
    add("concurrent", async () => {
      const batch = [];
      for (let i = 0; i < 20; i++) batch.push(core.execute(step, { test: n++ }));
      for (const r of await Promise.all(batch)) ok(r);
    });
    add("cache", async () => {
      const input = { test: n++ };
      ok(await core.execute(step, input));
      ok(await core.execute(step, input));
    });
    add("context", async () => ok(await core.execute(step, { test: n++ }, { context: ctx })));
    add("execution (original protocol)", async () => ok(await core.execute(step, fixed)));
    gc();
    await bench.run();
    for (const task of bench.tasks)
      out[task.name + (cacheOn ? "" : " (cache off)")] = figures(task, memory.get(task.name).read());
  }
  return out;
}
