/**
 * One lane of the "durable state by backend" figure (bench/native.ts spawns it once per FLUJO_BACKEND,
 * since the backend is bound at module load): the state bench's 100-step pipeline over its ~100 KB
 * context, persisted to SQLite with default settings (executor cache on, so each step also computes a
 * cache key). Prints one JSON line: { backend, usPerStep }.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backend, Flujo, SQLiteBackend } from "flujo";
import { Bench } from "tinybench";
import { initialData, statePipeline } from "./state.js";

const N = 100;
const time = Number(process.env.BENCH_TIME ?? 1000);
const dir = mkdtempSync(join(tmpdir(), "flujo-durable-lane-"));
try {
  const store = new SQLiteBackend(join(dir, "lane.db"));
  const runner = new Flujo(statePipeline(N), { initialContextData: initialData(), stateBackend: store });
  let unique = 0;
  const kept: string[] = [];
  const bench = new Bench({ time, warmupTime: Math.min(200, time / 2) });
  bench.add(
    "durable",
    async () => {
      const runId = `lane-${unique++}`;
      const r = await runner.run(0, { runId });
      if (!r.success) throw new Error(`durable lane: run '${runId}' failed`);
      kept.push(runId);
    },
    {
      afterEach: async () => {
        if (kept.length > 50) await store.deleteState(kept.shift()!);
      },
    },
  );
  await bench.run();
  store.close();
  const r = bench.tasks[0].result;
  if (r.state !== "completed") throw new Error(`durable lane: ${r.state}`);
  console.log(JSON.stringify({ backend, usPerStep: (r.latency.mean * 1000) / N }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
