/**
 * Crash safety for real: a child process runs a durable pipeline against a SQLite file and is killed with
 * SIGKILL part way; the parent reads what the file holds, then a new child continues the run. A step that
 * was recorded as completed before the kill is never run again, and the continued run ends with every
 * step exactly once in its history and its context. The child is test/state/fixtures/crash-child.ts.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backend, SQLiteBackend } from "../../src/index.js";
import { type Exit, spawnChild, tempDirs } from "./fixtures/processes.js";

const STEPS = 12;
const REPETITIONS = 20;
const tempDir = tempDirs("flujo-crash-");

/** mulberry32: a small seeded generator, so the kill points are the same on every run of the test. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Spawns the child script; `onLine` sees each stdout line as it arrives, with the child to kill. */
function child(args: string[], onLine?: (line: string, proc: ChildProcess) => void): Promise<Exit> {
  return spawnChild(args, { onLine }).exit;
}

/** Runs the child to its end (exit 0) and returns the JSON of its `result` line. */
async function childResult(args: string[]): Promise<Record<string, unknown>> {
  const exit = await child(args);
  expect(exit.stderr).toBe("");
  expect(exit.code, `child ${args[0]} exited with ${exit.code ?? exit.signal}`).toBe(0);
  const line = exit.lines.find((l) => l.startsWith("result "));
  expect(line, `no result line in ${JSON.stringify(exit.lines)}`).toBeDefined();
  const { backend: childBackend, ...result } = JSON.parse(line!.slice("result ".length));
  // The lane's FLUJO_BACKEND reached the child: it runs the backend this lane tests.
  expect(childBackend).toBe(backend);
  return result as Record<string, unknown>;
}

async function loadState(dbPath: string, runId: string) {
  const db = new SQLiteBackend(dbPath);
  try {
    return await db.loadState(runId);
  } finally {
    db.close();
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const names = (n: number) => range(n).map((i) => `s${i}`);

/** The ran-log lines of one run: [stepIndex, mode] per step start, in order. */
function ranLog(log: string, runId: string): [number, string][] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[0] === "ran" && f[1] === runId)
    .map((f) => [Number(f[2]), f[3]]);
}

describe("durable runs survive SIGKILL", () => {
  it("a killed run continues from the persisted step: recorded steps never run again, each step is in history and context once", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "state.db");
    const log = join(dir, "ran.log");
    const random = prng(0x5eed);
    // Every kill point 1..10 twice, in a seeded order; some kills wait a few ms after the line, so they
    // land at different points of a step (its body, its record, the next step's start).
    const points = [...range(10), ...range(10)].map((i) => i + 1);
    for (let i = points.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [points[i], points[j]] = [points[j], points[i]];
    }
    expect(points.length).toBe(REPETITIONS);
    let killed = 0;

    for (const [rep, k] of points.entries()) {
      const runId = `crash-${rep}`;
      const delay = Math.floor(random() * 8);
      let seen = 0;
      const first = await child(["run", dbPath, log, runId], (line, proc) => {
        if (!line.startsWith("step ")) return;
        seen++;
        if (seen !== k) return;
        if (delay === 0) proc.kill("SIGKILL");
        else setTimeout(() => proc.kill("SIGKILL"), delay);
      });
      const where = `repetition ${rep} (kill after ${k} steps + ${delay} ms)`;
      expect(first.stderr, where).toBe("");
      expect(seen, where).toBeGreaterThanOrEqual(k);
      if (first.signal === "SIGKILL") killed++;
      // A child that finished before the kill landed is a run that was not interrupted: still valid.
      else expect(first.code, where).toBe(0);

      // What the file holds after the kill: a consistent prefix of the run.
      const before = await loadState(dbPath, runId);
      expect(before, where).toBeDefined();
      const c = before!.currentStepIndex;
      if (first.signal === "SIGKILL") expect(before!.status, where).toBe("running");
      // Step k-2's record was written before step k-1 ran and printed its line.
      expect(c, where).toBeGreaterThanOrEqual(k - 1);
      const recorded = before!.steps.filter((s) => s.success).map((s) => s.stepIndex);
      expect(recorded, where).toEqual(range(c));
      expect(
        before!.stepHistory.map((r) => r.name),
        where,
      ).toEqual(names(c));
      expect(before!.pipelineContext.done, where).toEqual(range(c));
      if (c > 0) expect(before!.lastStepOutput, where).toBe(c);

      // A new process continues the run with the same id.
      const result = await childResult(["resume", dbPath, log, runId]);
      expect(result, where).toEqual({
        status: "completed",
        output: STEPS,
        history: names(STEPS),
        done: range(STEPS),
        hitlHistory: [],
      });

      const ran = ranLog(log, runId);
      for (const step of range(STEPS)) {
        const starts = ran.filter(([i]) => i === step).map(([, mode]) => mode);
        if (step < c) {
          // Recorded before the kill: it ran once, in the first process, and never again.
          expect(starts, `${where}: step ${step}`).toEqual(["run"]);
        } else {
          // Not recorded: it may have started in the killed process, and ran once in the resuming one.
          expect(
            starts.filter((m) => m === "resume"),
            `${where}: step ${step}`,
          ).toEqual(["resume"]);
          expect(starts.filter((m) => m === "run").length, `${where}: step ${step}`).toBeLessThanOrEqual(1);
        }
      }

      const after = await loadState(dbPath, runId);
      expect(after!.status, where).toBe("completed");
      expect(after!.currentStepIndex, where).toBe(STEPS);
      expect(
        after!.stepHistory.map((r) => r.name),
        where,
      ).toEqual(names(STEPS));
      expect(
        after!.stepHistory.map((r) => r.output),
        where,
      ).toEqual(range(STEPS).map((i) => i + 1));
      expect(after!.pipelineContext.done, where).toEqual(range(STEPS));
      // Every step was recorded once: the first process's rows, then the resuming process's.
      expect(
        after!.steps.map((s) => [s.seq, s.stepIndex]),
        where,
      ).toEqual(range(STEPS).map((i) => [i + 1, i]));
    }
    // The kill points leave at least two steps to run, so the kills land mid-run (a test that never
    // killed anything would prove nothing).
    expect(killed).toBeGreaterThanOrEqual(REPETITIONS / 2);
  }, 120_000);

  it("HITL resume across processes: one process pauses, another answers on a new runner", async () => {
    const dbPath = join(tempDir(), "state.db");
    const runId = "hitl-1";

    const paused = await childResult(["pause", dbPath, runId]);
    expect(paused).toMatchObject({ status: "paused", output: "draft of topic", history: ["draft"] });
    const stored = await loadState(dbPath, runId);
    expect(stored?.status).toBe("paused");
    expect(stored?.currentStepIndex).toBe(1);
    expect(stored?.pipelineContext.pauseMessage).toBe("OK?");

    const resumed = await childResult(["answer", dbPath, runId, "yes"]);
    expect(resumed).toMatchObject({
      status: "completed",
      output: "final: yes",
      history: ["draft", "approve", "finish"],
    });
    expect(resumed.hitlHistory).toHaveLength(1);
    expect(resumed.hitlHistory).toMatchObject([{ messageToHuman: "OK?", humanResponse: "yes" }]);

    const done = await loadState(dbPath, runId);
    expect(done?.status).toBe("completed");
    expect(done?.stepHistory.map((r) => [r.name, r.output])).toEqual([
      ["draft", "draft of topic"],
      ["approve", "yes"],
      ["finish", "final: yes"],
    ]);
    expect(done?.pipelineContext.hitlHistory).toHaveLength(1);
  }, 60_000);
});
