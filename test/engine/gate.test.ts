import { describe, expect, it } from "vitest";
import { ConfigurationError, Flujo, Step } from "../../src/index.js";

/** A step that waits until the test releases it, recording the order runs reach it. */
function gatedStep() {
  const reached: string[] = [];
  const releases: Array<() => void> = [];
  let inside = 0;
  let most = 0;
  const step = Step.fromCallable(
    async (id: string) => {
      reached.push(id);
      inside++;
      most = Math.max(most, inside);
      await new Promise<void>((resolve) => releases.push(resolve));
      inside--;
      return id;
    },
    { name: "wait" },
  );
  return { step, reached, releases, most: () => most };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("maxConcurrentRuns (backpressure)", () => {
  it("runs at most the limit at once; the rest wait in arrival order and all complete", async () => {
    const g = gatedStep();
    const runner = new Flujo(g.step, { maxConcurrentRuns: 2, enableCache: false });
    const ids = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const results = ids.map((id) => runner.run(id));
    await settle();
    expect(runner.runs).toEqual({ active: 2, queued: 8 });
    expect(g.reached).toEqual(["r0", "r1"]);
    while (g.reached.length < ids.length || g.releases.length > 0) {
      g.releases.shift()?.();
      await settle();
    }
    const done = await Promise.all(results);
    expect(done.map((r) => r.output)).toEqual(ids);
    expect(g.reached).toEqual(ids);
    expect(g.most()).toBe(2);
    expect(runner.runs).toEqual({ active: 0, queued: 0 });
  });

  it("a queued run whose signal aborts stops waiting and fails at once; the queue goes on", async () => {
    const g = gatedStep();
    const runner = new Flujo(g.step, { maxConcurrentRuns: 1, enableCache: false });
    const first = runner.run("a");
    const abort = new AbortController();
    const second = runner.run("b", { signal: abort.signal });
    const third = runner.run("c");
    await settle();
    expect(runner.runs).toEqual({ active: 1, queued: 2 });
    abort.abort();
    const aborted = await second;
    expect(aborted.status).toBe("failed");
    expect(g.reached).toEqual(["a"]);
    g.releases.shift()?.();
    await settle();
    g.releases.shift()?.();
    expect((await first).output).toBe("a");
    expect((await third).output).toBe("c");
    expect(runner.runs).toEqual({ active: 0, queued: 0 });
  });

  it("a run that throws gives its slot back", async () => {
    const runner = new Flujo(
      Step.fromCallable(
        async () => {
          throw new Error("unused");
        },
        { name: "s" },
      ),
      { maxConcurrentRuns: 1, initialContextData: { x: 1 }, contextSchema: rejectAll() },
    );
    await expect(runner.run("a")).rejects.toThrow();
    await expect(runner.run("b")).rejects.toThrow();
    expect(runner.runs).toEqual({ active: 0, queued: 0 });
  });

  it("stream and resume wait for a slot too", async () => {
    const g = gatedStep();
    const runner = new Flujo(g.step, { maxConcurrentRuns: 1, enableCache: false });
    const first = runner.run("a");
    const events: unknown[] = [];
    const streamed = (async () => {
      for await (const e of runner.stream("b")) events.push(e);
    })();
    await settle();
    expect(runner.runs).toEqual({ active: 1, queued: 1 });
    g.releases.shift()?.();
    await first;
    await settle();
    expect(g.reached).toEqual(["a", "b"]);
    g.releases.shift()?.();
    await streamed;
    expect(events).toHaveLength(2);
  });

  it("refuses a limit that is not a positive integer, naming the option", () => {
    const step = Step.fromCallable(async (x: unknown) => x, { name: "s" });
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => new Flujo(step, { maxConcurrentRuns: bad })).toThrow(ConfigurationError);
    expect(() => new Flujo(step, { maxConcurrentRuns: 0 })).toThrow(/maxConcurrentRuns/);
    expect(new Flujo(step, { maxConcurrentRuns: Number.POSITIVE_INFINITY }).runs).toEqual({
      active: 0,
      queued: 0,
    });
  });
});

/** A Standard Schema that rejects every context, so the run throws before its first step. */
function rejectAll() {
  return {
    "~standard": {
      version: 1 as const,
      vendor: "test",
      validate: () => ({ issues: [{ message: "rejected" }] }),
    },
  };
}
