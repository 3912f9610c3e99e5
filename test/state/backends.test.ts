import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type AgentRunOptions,
  ExecutionError,
  Flujo,
  MemoryBackend,
  type PipelineResult,
  pipeline,
  ResumeError,
  SQLiteBackend,
  StateBackend,
  StateBackendError,
  Step,
  UsageLimitExceededError,
} from "../../src/index.js";
import { costly } from "../support/agents.js";

const dir = mkdtempSync(join(tmpdir(), "flujo-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const backends: Array<[string, () => StateBackend]> = [
  ["MemoryBackend", () => new MemoryBackend()],
  ["SQLiteBackend", () => new SQLiteBackend(join(dir, `state-${files++}.db`))],
];

type Ctx = Record<string, unknown>;

/** A step that counts its calls and returns input + 1. */
function counted(name: string, calls: Record<string, number>, extra?: (x: number, ctx: Ctx) => void): Step {
  return Step.fromCallable(
    async (x: number, { context }: AgentRunOptions) => {
      calls[name] = (calls[name] ?? 0) + 1;
      extra?.(x, context as Ctx);
      return x + 1;
    },
    { name },
  );
}

describe.each(backends)("durable runs on %s", (_label, make) => {
  it("case 52: a completed run is stored completed, at index 2, with its last output and history", async () => {
    const backend = make();
    const calls: Record<string, number> = {};
    const runner = new Flujo(pipeline(counted("s1", calls), counted("s2", calls)), { stateBackend: backend });
    const result = await runner.run(1, { runId: "done" });
    expect(result.status).toBe("completed");
    const state = await backend.loadState("done");
    expect(state).toMatchObject({
      status: "completed",
      currentStepIndex: 2,
      lastStepOutput: 3,
      totalSteps: 2,
    });
    expect(state?.stepHistory.map((r) => r.name)).toEqual(["s1", "s2"]);
    expect(state?.pipelineContext.stepOutputs).toEqual({ s1: 2, s2: 3 });
    expect(state?.pipelineContext.status).toBe("completed");
    // Running the same id again continues a completed run: nothing runs twice.
    const again = await runner.run(1, { runId: "done" });
    expect(again.status).toBe("completed");
    expect(again.stepHistory).toHaveLength(2);
    expect(calls).toEqual({ s1: 1, s2: 1 });
  });

  it("case 52: a run stored at index 1 runs only the second step, from the stored context and output", async () => {
    const backend = make();
    const calls: Record<string, number> = {};
    let failNext = true;
    const flaky = Step.fromCallable(
      async (x: number, { context }: AgentRunOptions) => {
        calls.s2 = (calls.s2 ?? 0) + 1;
        if (failNext) {
          failNext = false;
          throw new Error("not yet");
        }
        return `${x}:${(context as Ctx).seen}`;
      },
      { name: "s2", maxRetries: 0 },
    );
    const first = counted("s1", calls, (_x, ctx) => {
      ctx.seen = "from s1";
    });
    const runner = new Flujo(pipeline(first, flaky), { stateBackend: backend });
    const failed = await runner.run(10, { runId: "r" });
    expect(failed.status).toBe("failed");
    expect(await backend.loadState("r")).toMatchObject({ status: "failed", currentStepIndex: 1 });

    const resumed = await new Flujo(pipeline(first, flaky), { stateBackend: backend }).run(999, {
      runId: "r",
    });
    expect(resumed.status).toBe("completed");
    expect(resumed.output).toBe("11:from s1");
    expect(resumed.stepHistory.map((r) => [r.name, r.success])).toEqual([
      ["s1", true],
      ["s2", true],
    ]);
    expect(calls).toEqual({ s1: 1, s2: 2 });
    // The log keeps the failed attempt; the history holds what stands.
    const rows = await backend.listRunSteps("r");
    expect(rows.map((s) => [s.stepName, s.success])).toEqual([
      ["s1", true],
      ["s2", false],
      ["s2", true],
    ]);
  });

  it("runner.stream continues a stored run too, streaming only the steps it runs", async () => {
    const backend = make();
    const calls: Record<string, number> = {};
    let failNext = true;
    const flaky = Step.fromCallable(
      async (x: number) => {
        if (failNext) {
          failNext = false;
          throw new Error("not yet");
        }
        return x * 10;
      },
      { name: "s2", maxRetries: 0 },
    );
    const runner = new Flujo(pipeline(counted("s1", calls), flaky), { stateBackend: backend });
    await runner.run(1, { runId: "st" });
    const seen: string[] = [];
    let last: unknown;
    for await (const event of runner.stream(1, { runId: "st" })) {
      if ("type" in event && event.type === "step") seen.push(event.stepResult.name);
      last = event;
    }
    expect(seen).toEqual(["s2"]);
    expect((last as PipelineResult).output).toBe(20);
    expect((last as PipelineResult).stepHistory.map((r) => r.name)).toEqual(["s1", "s2"]);
    expect(calls.s1).toBe(1);
  });

  it("case 52: a stored index past the pipeline's steps fails with Flujo's message", async () => {
    const backend = make();
    const runner = new Flujo(pipeline(counted("s1", {}), counted("s2", {})), { stateBackend: backend });
    await runner.run(0, { runId: "r" });
    const state = await backend.loadState("r");
    await backend.saveState("r", { ...state!, status: "running", currentStepIndex: 3 });
    const err = await runner.run(0, { runId: "r" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    expect((err as Error).message).toBe("Invalid persisted step index 3 for pipeline with 2 steps");
  });

  it("case 52: a cancelled run is stored failed; deleteOnCompletion removes a completed run", async () => {
    const backend = make();
    const controller = new AbortController();
    // The second step is waiting when the run is cancelled: the user aborts once it has started.
    const waiting = Step.fromCallable(
      (_x: unknown, { signal }: AgentRunOptions) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => reject(signal.reason));
          queueMicrotask(() => controller.abort());
        }),
      { name: "wait" },
    );
    const running = new Flujo(pipeline(counted("s1", {}), waiting), { stateBackend: backend }).run(0, {
      runId: "cancelled",
      signal: controller.signal,
    });
    expect((await running).status).toBe("failed");
    expect(await backend.loadState("cancelled")).toMatchObject({ status: "failed", currentStepIndex: 1 });

    const deleting = new Flujo(counted("s1", {}), { stateBackend: backend, deleteOnCompletion: true });
    expect((await deleting.run(0, { runId: "gone" })).status).toBe("completed");
    expect(await backend.loadState("gone")).toBeUndefined();
  });

  it("case 53: after a crash between steps the run continues where it was recorded (index counted once)", async () => {
    const backend = make();
    // The "crash": the store stops taking writes after the first step, as if the process had died.
    const crashing = new CrashAfter(backend, 1);
    const calls: Record<string, number> = {};
    const steps = () => pipeline(counted("s1", calls), counted("s2", calls), counted("s3", calls));
    await expect(new Flujo(steps(), { stateBackend: crashing }).run(0, { runId: "c" })).rejects.toThrow(
      "simulated crash",
    );
    expect(await backend.loadState("c")).toMatchObject({
      status: "running",
      currentStepIndex: 1,
      lastStepOutput: 1,
    });
    const result = await new Flujo(steps(), { stateBackend: backend }).run(0, { runId: "c" });
    expect(result.stepHistory.map((r) => r.name)).toEqual(["s1", "s2", "s3"]);
    expect(result.output).toBe(3);
    expect(calls.s1).toBe(1);
    expect(await backend.loadState("c")).toMatchObject({ status: "completed", currentStepIndex: 3 });
  });

  it("the stored context keeps what JSON would lose, and a resumed run reads it", async () => {
    const backend = make();
    const when = new Date("2026-01-02T03:04:05.000Z");
    const writer = Step.fromCallable(
      async (_x: unknown, { context }: AgentRunOptions) => {
        const ctx = context as Ctx;
        ctx.when = when;
        ctx.nested = { list: [1, undefined, 3], big: 2n ** 70n, nan: Number.NaN };
        return "written";
      },
      { name: "writer" },
    );
    let failNext = true;
    const reader = Step.fromCallable(
      async (_x: unknown, { context }: AgentRunOptions) => {
        if (failNext) {
          failNext = false;
          throw new Error("later");
        }
        const ctx = context as Ctx;
        return { isDate: ctx.when instanceof Date, time: (ctx.when as Date).getTime(), nested: ctx.nested };
      },
      { name: "reader", maxRetries: 0 },
    );
    const runner = new Flujo(pipeline(writer, reader), { stateBackend: backend });
    await runner.run(0, { runId: "types" });
    const result = await runner.run(0, { runId: "types" });
    expect(result.output).toEqual({
      isDate: true,
      time: when.getTime(),
      nested: { list: [1, undefined, 3], big: 2n ** 70n, nan: Number.NaN },
    });
  });

  it("a stored context replays to the live one when a step replaces an object holding a prototype key", async () => {
    const backend = make();
    let storedMidRun: unknown;
    const runner = new Flujo(
      pipeline(
        Step.fromCallable(async () => ({ k: 1 }), { name: "replace", sinkTo: "a" }),
        Step.fromCallable(
          async () => {
            storedMidRun = (await backend.loadState("proto"))?.pipelineContext.a;
            return "read";
          },
          { name: "read" },
        ),
      ),
      { stateBackend: backend, initialContextData: { a: JSON.parse('{"constructor": 1, "k": 0}') } },
    );
    await runner.run(0, { runId: "proto" });
    expect(storedMidRun).toEqual({ k: 1 });
  });

  it("a paused run is resumed by id by another runner; other ids and statuses are refused", async () => {
    const backend = make();
    const build = () =>
      new Flujo(
        pipeline(
          new Step({ name: "draft", agent: costly("text", 0.1, 2) }),
          Step.humanInTheLoop({ name: "approve", messageForUser: "OK?" }),
          Step.fromCallable(async (answer: unknown) => `approved: ${String(answer)}`, { name: "publish" }),
        ),
        { stateBackend: backend },
      );
    const paused = await build().run("x", { runId: "p" });
    expect(paused.status).toBe("paused");
    expect(await backend.loadState("p")).toMatchObject({ status: "paused", currentStepIndex: 1 });

    const resumed = await build().resume("p", "yes");
    expect(resumed.status).toBe("completed");
    expect(resumed.output).toBe("approved: yes");
    expect(resumed.stepHistory.map((r) => r.name)).toEqual(["draft", "approve", "publish"]);
    expect(resumed.totalCostUsd).toBeCloseTo(0.1);
    const state = await backend.loadState("p");
    expect(state).toMatchObject({ status: "completed", currentStepIndex: 3 });
    expect(state?.pipelineContext.hitlHistory).toMatchObject([
      { messageToHuman: "OK?", humanResponse: "yes" },
    ]);

    await expect(build().resume("p", "again")).rejects.toThrow(
      "Run 'p' is not paused (its status is completed)",
    );
    await expect(build().resume("nope", "x")).rejects.toThrow("Run 'nope' is not in the state backend");
    await expect(new Flujo(Step.humanInTheLoop({ name: "h" })).resume("p", "x")).rejects.toBeInstanceOf(
      ResumeError,
    );
  });

  it("a run recorded by another pipeline version or another pipeline is refused, not resumed", async () => {
    const backend = make();
    const steps = () => pipeline(counted("a", {}), Step.humanInTheLoop({ name: "h" }), counted("b", {}));
    await new Flujo(steps(), { stateBackend: backend, pipelineVersion: "v1" }).run(0, { runId: "v" });
    const newer = new Flujo(steps(), { stateBackend: backend, pipelineVersion: "v2" });
    await expect(newer.run(0, { runId: "v" })).rejects.toThrow(
      "Run 'v' was recorded by pipeline 'unnamed' version 'v1', and this runner's is 'v2'",
    );
    const other = new Flujo(pipeline(counted("x", {}), Step.humanInTheLoop({ name: "h" })), {
      stateBackend: backend,
      pipelineVersion: "v1",
    });
    await expect(other.resume("v", "ok")).rejects.toThrow(/with other steps than this runner's pipeline/);
  });

  it("a usage-limit breach is stored failed with the breaching step; lists and traces read back", async () => {
    const backend = make();
    const runner = new Flujo(
      pipeline(new Step({ name: "big", agent: costly("x", 0.5, 1) }), counted("after", {})),
      { stateBackend: backend, usageLimits: { totalCostUsdLimit: 0.25 }, pipelineName: "budgeted" },
    );
    await expect(runner.run(0, { runId: "limit" })).rejects.toBeInstanceOf(UsageLimitExceededError);
    const state = await backend.loadState("limit");
    expect(state).toMatchObject({ status: "failed", currentStepIndex: 1, totalCostUsd: 0.5 });
    expect(state?.stepHistory.map((r) => r.name)).toEqual(["big"]);

    await new Flujo(counted("s", {}), { stateBackend: backend, pipelineName: "other" }).run(0, {
      runId: "ok",
    });
    expect((await backend.listRuns({ status: "failed" })).map((r) => r.runId)).toEqual(["limit"]);
    expect((await backend.listRuns({ pipelineName: "other" })).map((r) => r.runId)).toEqual(["ok"]);
    expect((await backend.listRuns()).length).toBe(2);
    expect(await backend.getRunDetails("ok")).toMatchObject({ status: "completed", pipelineName: "other" });

    await backend.saveTrace("ok", { name: "pipeline_run", children: [{ name: "s" }] });
    expect(await backend.getTrace("ok")).toEqual({ name: "pipeline_run", children: [{ name: "s" }] });
    await backend.deleteState("ok");
    expect(await backend.getTrace("ok")).toBeUndefined();
    expect(await backend.loadState("ok")).toBeUndefined();
    await backend.close();
  });

  it("a resumed in-memory paused result continues the stored run instead of starting another", async () => {
    const backend = make();
    const build = () =>
      new Flujo(pipeline(counted("a", {}), Step.humanInTheLoop({ name: "h" }), counted("b", {})), {
        stateBackend: backend,
      });
    const paused: PipelineResult = await build().run(0, { runId: "m" });
    const resumed = await build().resume(paused as never, 5);
    expect(resumed.output).toBe(6);
    const rows = await backend.listRunSteps("m");
    expect(rows.map((r) => r.stepName)).toEqual(["a", "h", "b"]);
  });
});

/** A backend that forwards `writes` step writes, then fails every write, like a process that died. */
class CrashAfter extends StateBackend {
  #left: number;
  constructor(
    readonly inner: StateBackend,
    writes: number,
  ) {
    super();
    this.#left = writes;
  }
  #crash(): never {
    throw new StateBackendError("simulated crash");
  }
  writeRun(...args: Parameters<StateBackend["writeRun"]>) {
    return this.inner.writeRun(...args);
  }
  appendStep(...args: Parameters<StateBackend["appendStep"]>) {
    if (this.#left-- <= 0) this.#crash();
    return this.inner.appendStep(...args);
  }
  updateRun(...args: Parameters<StateBackend["updateRun"]>) {
    if (this.#left <= 0) this.#crash();
    return this.inner.updateRun(...args);
  }
  readRun(runId: string) {
    return this.inner.readRun(runId);
  }
  listRuns() {
    return this.inner.listRuns();
  }
  deleteState(runId: string) {
    return this.inner.deleteState(runId);
  }
  saveTrace(runId: string, trace: unknown) {
    return this.inner.saveTrace(runId, trace);
  }
  getTrace(runId: string) {
    return this.inner.getTrace(runId);
  }
  close() {
    return this.inner.close();
  }
}
