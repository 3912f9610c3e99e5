/**
 * Concurrent writers on one SQLite state file: two processes recording runs at the same time (they queue
 * on the busy timeout, no SQLITE_BUSY reaches a run), and many runs of one runner in flight at once in a
 * process. The child processes are test/state/fixtures/crash-child.ts in its "many" mode.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { backend, Flujo, pipeline, SQLiteBackend, Step } from "../../src/index.js";
import { type Exit, spawnChild, tempDirs } from "./fixtures/processes.js";

const RUNS_PER_PROCESS = 30;
const tempDir = tempDirs("flujo-concurrency-");

interface ManyChild {
  /** Resolves when the child has opened the file and waits for the go. */
  ready: Promise<void>;
  go(): void;
  exit: Promise<Exit>;
}

function manyChild(dbPath: string, prefix: string, count: number): ManyChild {
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const { proc, exit } = spawnChild(["many", dbPath, prefix, String(count)], {
    stdin: "pipe",
    onLine: (line) => {
      if (line === "ready") onReady();
    },
  });
  // A child that died before it was ready must not leave the test waiting.
  void exit.then(onReady);
  return { ready, go: () => proc.stdin?.end("go\n"), exit };
}

describe("concurrent writers on one SQLite file", () => {
  it("two processes recording 30 runs each at the same time: no error surfaces, all 60 runs are stored completed", async () => {
    const dbPath = join(tempDir(), "state.db");
    // Both open (and migrate) the new file at the same time, then start their runs together.
    const children = [manyChild(dbPath, "p1", RUNS_PER_PROCESS), manyChild(dbPath, "p2", RUNS_PER_PROCESS)];
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    const exits = await Promise.all(children.map((c) => c.exit));

    for (const exit of exits) {
      expect(exit.stderr).toBe("");
      expect(exit.code, `child exited with ${exit.code ?? exit.signal}`).toBe(0);
      const line = exit.lines.find((l) => l.startsWith("result "));
      expect(line).toBeDefined();
      expect(JSON.parse(line!.slice("result ".length))).toEqual({
        statuses: Array(RUNS_PER_PROCESS).fill("completed"),
        backend, // the lane's FLUJO_BACKEND reached the child
      });
    }

    const db = new SQLiteBackend(dbPath);
    try {
      const runs = await db.listRuns({ limit: 1000 });
      const expected = ["p1", "p2"].flatMap((p) =>
        Array.from({ length: RUNS_PER_PROCESS }, (_, i) => `${p}-${i}`),
      );
      expect(runs.map((r) => r.runId).sort()).toEqual([...expected].sort());
      expect(runs.every((r) => r.status === "completed" && r.pipelineName === "crash-many")).toBe(true);
      for (const runId of expected) {
        const i = Number(runId.split("-")[1]);
        const state = await db.loadState(runId);
        expect(state?.status, runId).toBe("completed");
        expect(
          state?.stepHistory.map((r) => [r.name, r.output]),
          runId,
        ).toEqual([
          ["a", i + 1],
          ["b", i + 2],
          ["c", i + 3],
        ]);
        expect(state?.pipelineContext.runId, runId).toBe(runId);
        expect(state?.pipelineContext.done, runId).toEqual([i, i + 1, i + 2]);
      }
    } finally {
      db.close();
    }
  }, 60_000);

  it("50 concurrent runs on one runner: each completes with its own output and is stored completed", async () => {
    const db = new SQLiteBackend(join(tempDir(), "state.db"));
    try {
      const steps = ["a", "b", "c"].map((name, s) =>
        Step.fromCallable(
          async (x: number, { context }) => {
            // Different waits per run and step, so the runs' steps interleave out of start order.
            await sleep(((x * 7 + s * 3) % 5) + 1);
            (context.done as string[]).push(`${name}${x}`);
            return x;
          },
          { name },
        ),
      );
      const runner = new Flujo(pipeline<number, number>(...steps), {
        stateBackend: db,
        pipelineName: "in-process",
        initialContextData: { done: [] },
      });
      const ids = Array.from({ length: 50 }, (_, i) => i);
      const results = await Promise.all(ids.map((i) => runner.run(i, { runId: `inproc-${i}` })));

      for (const [i, result] of results.entries()) {
        expect(result.status).toBe("completed");
        expect(result.output).toBe(i);
        expect(result.finalPipelineContext?.runId).toBe(`inproc-${i}`);
        expect(result.finalPipelineContext?.done).toEqual([`a${i}`, `b${i}`, `c${i}`]);
      }
      const runs = await db.listRuns({ limit: 1000 });
      expect(runs).toHaveLength(50);
      expect(runs.every((r) => r.status === "completed" && r.currentStepIndex === 3)).toBe(true);
      for (const i of ids) {
        const state = await db.loadState(`inproc-${i}`);
        expect(state?.status).toBe("completed");
        expect(state?.stepHistory.map((r) => [r.name, r.output])).toEqual([
          ["a", i],
          ["b", i],
          ["c", i],
        ]);
        expect(state?.pipelineContext.done).toEqual([`a${i}`, `b${i}`, `c${i}`]);
      }
    } finally {
      db.close();
    }
  }, 60_000);
});
