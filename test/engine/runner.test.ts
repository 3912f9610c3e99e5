import { describe, expect, it, vi } from "vitest";
import type { Agent, RunEvent } from "../../src/index.js";
import { Flujo, PipelineAbortSignal, PipelineResult, pipeline, ResumeError, Step } from "../../src/index.js";
import { StubAgent } from "../support/agents.js";

describe("runner", () => {
  it("runs steps in order, feeding each output to the next step", async () => {
    const p = Step.fromCallable(async (x: number) => x + 1, { name: "inc" }).pipe(
      Step.fromCallable(async (x: number) => x * 10, { name: "times10" }),
    );
    const result = await new Flujo(p).run(1);
    expect(result.output).toBe(20);
    expect(result.success).toBe(true);
    expect(result.status).toBe("completed");
    expect(result.stepHistory.map((r) => [r.name, r.output, r.attempts])).toEqual([
      ["inc", 2, 1],
      ["times10", 20, 1],
    ]);
    expect(result.stepHistory[0].latencyS).toBeGreaterThanOrEqual(0);
  });

  it("an empty pipeline completes", async () => {
    const result = await new Flujo(pipeline()).run("x");
    expect(result.status).toBe("completed");
    expect(result.success).toBe(true);
  });

  it("stream yields one event per step and then the PipelineResult", async () => {
    const runner = new Flujo(
      pipeline(
        new Step({ name: "a", agent: new StubAgent([1]) }),
        new Step({ name: "b", agent: new StubAgent([2]) }),
      ),
    );
    const seen: Array<RunEvent | PipelineResult> = [];
    for await (const event of runner.stream("x")) seen.push(event);
    expect(seen).toHaveLength(3);
    expect(seen.slice(0, 2).map((e) => (e as RunEvent).type)).toEqual(["step", "step"]);
    const last = seen[2];
    expect(last).toBeInstanceOf(PipelineResult);
    expect((last as PipelineResult).output).toBe(2);
  });

  it("stream forwards the chunks of the last step's streaming agent", async () => {
    const streamer: Agent = {
      run: async () => "unused",
      async *stream() {
        yield "Hel";
        yield "lo";
      },
    };
    const runner = new Flujo(
      pipeline(
        new Step({ name: "first", agent: new StubAgent(["q"]) }),
        new Step({ name: "talk", agent: streamer }),
      ),
    );
    const chunks: unknown[] = [];
    let final: PipelineResult | undefined;
    for await (const e of runner.stream("x")) {
      if (e instanceof PipelineResult) final = e;
      else if (e.type === "chunk") chunks.push(e.data);
    }
    expect(chunks).toEqual(["Hel", "lo"]);
    expect(final?.output).toBe("Hello");
  });

  it("stream rethrows a run error from the iterator", async () => {
    const runner = new Flujo(new Step({ name: "missing" }));
    const consume = async () => {
      for await (const _ of runner.stream("x")) {
        // drain
      }
    };
    await expect(consume()).rejects.toThrow("has no agent configured");
  });

  it("a timeout aborts the agent's signal and counts as a failed attempt", async () => {
    let aborted = 0;
    const slow: Agent = {
      run: (_input, { signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener("abort", () => {
            aborted++;
            reject(signal.reason);
          });
        }),
    };
    const runner = new Flujo(
      new Step({ name: "slow", agent: slow, config: { timeoutS: 0.01, maxRetries: 1 } }),
    );
    const result = await runner.run("x");
    expect(result.success).toBe(false);
    expect(result.stepHistory[0].attempts).toBe(2);
    expect(aborted).toBe(2);
    expect(result.stepHistory[0].feedback).toBe(
      "Agent execution failed with TimeoutError: Step 'slow' timed out after 0.01s",
    );
  });

  it("a timeout also stops an agent that ignores its signal", async () => {
    const deaf: Agent = { run: () => new Promise(() => {}) };
    const result = await new Flujo(
      new Step({ name: "deaf", agent: deaf, config: { timeoutS: 0.01, maxRetries: 0 } }),
    ).run("x");
    expect(result.success).toBe(false);
    expect(result.stepHistory[0].feedback).toContain("TimeoutError");
  });

  it("aborting the run's signal stops it promptly with status failed and skips the remaining steps", async () => {
    const controller = new AbortController();
    const after = new StubAgent(["never"]);
    const hanging: Agent = {
      run: () => {
        setImmediate(() => controller.abort());
        return new Promise(() => {});
      },
    };
    const runner = new Flujo(
      pipeline(new Step({ name: "hang", agent: hanging }), new Step({ name: "after", agent: after })),
    );
    const result = await runner.run("x", { signal: controller.signal });
    expect(result.status).toBe("failed");
    expect(result.success).toBe(false);
    expect(after.calls).toBe(0);
  });

  it("a cancelled run leaves no timer behind, even for a step with a long timeout", async () => {
    // The step's own timer, followed through the calls (counting the process's timers is not exact:
    // another timer of the process may end meanwhile).
    const set = vi.spyOn(globalThis, "setTimeout");
    const clear = vi.spyOn(globalThis, "clearTimeout");
    const controller = new AbortController();
    const hanging: Agent = {
      run: () => {
        setImmediate(() => controller.abort());
        return new Promise(() => {});
      },
    };
    const result = await new Flujo(new Step({ name: "hang", agent: hanging, config: { timeoutS: 60 } })).run(
      "x",
      {
        signal: controller.signal,
      },
    );
    const stepTimers = set.mock.calls.flatMap((call, i) =>
      call[1] === 60_000 ? [set.mock.results[i].value] : [],
    );
    const cleared = clear.mock.calls.map((call) => call[0]);
    set.mockRestore();
    clear.mockRestore();
    expect(result.status).toBe("failed");
    expect(stepTimers).toHaveLength(1);
    expect(cleared).toContain(stepTimers[0]);
  });

  it("an agent returning a non-native thenable is awaited", async () => {
    // biome-ignore lint/suspicious/noThenProperty: the test needs a thenable that is not a native Promise
    const thenable = { then: (resolve: (v: unknown) => void) => resolve("from thenable") };
    const sr = await new Flujo(new Step({ name: "t", agent: { run: () => thenable } })).run("x");
    expect(sr.output).toBe("from thenable");
  });

  it("an already-aborted signal runs no step", async () => {
    const agent = new StubAgent(["x"]);
    const controller = new AbortController();
    controller.abort();
    const result = await new Flujo(new Step({ name: "a", agent })).run("x", { signal: controller.signal });
    expect(result.status).toBe("failed");
    expect(agent.calls).toBe(0);
  });

  it("resume refuses results that are not paused or have no context", async () => {
    const runner = new Flujo(new Step({ name: "a", agent: new StubAgent(["x"]) }));
    const done = await runner.run("x");
    await expect(runner.resume(done, "hi")).rejects.toThrow(new ResumeError("Pipeline is not paused"));
    await expect(runner.resume(new PipelineResult(), "hi")).rejects.toThrow(
      "Cannot resume pipeline without context",
    );
  });

  it("resume continues a run paused by a hook, feeding the human input to the paused step", async () => {
    let pause = true;
    const second = new StubAgent(["done"]);
    const runner = new Flujo(
      pipeline(
        new Step({ name: "a", agent: new StubAgent(["first"]) }),
        new Step({ name: "b", agent: second }),
      ),
      {
        hooks: [
          (p) => {
            if (p.eventName === "pre_step" && p.step.name === "b" && pause) {
              pause = false;
              throw new PipelineAbortSignal("Need approval");
            }
          },
        ],
      },
    );
    const paused = await runner.run("x");
    expect(paused.status).toBe("paused");
    const resumed = await runner.resume(paused, "approved");
    expect(resumed.status).toBe("completed");
    expect(second.inputs).toEqual(["approved"]);
    expect(resumed.finalPipelineContext?.hitlHistory).toMatchObject([
      { messageToHuman: "Need approval", humanResponse: "approved" },
    ]);
    expect(resumed.stepHistory.map((r) => r.name)).toEqual(["a", "b"]);
  });
});
