import { describe, expect, it } from "vitest";
import type { CacheBackend, StepResult } from "../../src/index.js";
import { ExecutorCore, Flujo, InMemoryCache, pipeline, Step, stepResult } from "../../src/index.js";
import { FailingAgent, ScriptedPlugin, StubAgent } from "../support/agents.js";

describe("caching (cases 19-23)", () => {
  it("case 19: a cached step hits on the same input and misses on another", async () => {
    const agent = new StubAgent(["out"]);
    const runner = new Flujo(Step.cached(new Step({ name: "c", agent })), { enableCache: false });
    const first = await runner.run("a");
    const second = await runner.run("a");
    expect(first.stepHistory[0].metadata.cacheHit).toBeUndefined();
    expect(second.stepHistory[0].metadata.cacheHit).toBe(true);
    expect(second.output).toBe("out");
    expect(agent.calls).toBe(1);
    await runner.run("b");
    expect(agent.calls).toBe(2);
  });

  it("case 20: two cached steps with the same name and separate backends both hit on the second run", async () => {
    const a1 = new StubAgent(["one"]);
    const a2 = new StubAgent(["two"]);
    const p = pipeline(
      Step.cached(new Step({ name: "same", agent: a1 }), { backend: new InMemoryCache() }),
      Step.cached(new Step({ name: "same", agent: a2 }), { backend: new InMemoryCache() }),
    );
    const runner = new Flujo(p, { enableCache: false });
    await runner.run("x");
    const second = await runner.run("x");
    expect(second.stepHistory.map((r) => r.metadata.cacheHit)).toEqual([true, true]);
    expect(a1.calls).toBe(1);
    expect(a2.calls).toBe(1);
  });

  it("case 21: a success through the fallback is cached with its fallback metadata; a total failure is not", async () => {
    const primary = new FailingAgent(() => new Error("down"));
    const fb = new StubAgent(["rescued"]);
    const cached = Step.cached(
      new Step({
        name: "p",
        agent: primary,
        config: { maxRetries: 0 },
        fallbackStep: new Step({ name: "fb", agent: fb }),
      }),
    );
    const runner = new Flujo(cached, { enableCache: false });
    await runner.run("x");
    const hit = await runner.run("x");
    expect(hit.stepHistory[0].metadata).toMatchObject({ cacheHit: true, fallbackTriggered: true });
    expect(primary.calls).toBe(1);

    const p2 = new FailingAgent(() => new Error("p2"));
    const fb2 = new FailingAgent(() => new Error("fb2"));
    const neverCached = Step.cached(
      new Step({
        name: "q",
        agent: p2,
        config: { maxRetries: 0 },
        fallbackStep: new Step({ name: "qfb", agent: fb2 }),
      }),
    );
    const r2 = new Flujo(neverCached, { enableCache: false });
    await r2.run("x");
    await r2.run("x");
    expect(p2.calls).toBe(2);
    expect(fb2.calls).toBe(2);
  });

  it("case 22: failures are not cached, successes are, and each run starts from a fresh context", async () => {
    let calls = 0;
    const step = Step.cached(
      Step.fromCallable(
        async (input: string) => {
          calls++;
          if (input === "fail") throw new Error("asked to fail");
          return { seen: input };
        },
        { name: "maybe", maxRetries: 0, updatesContext: true },
      ),
    );
    const runner = new Flujo(step, { enableCache: false });
    const f1 = await runner.run("fail");
    const f2 = await runner.run("fail");
    expect(f1.success).toBe(false);
    expect(f2.success).toBe(false);
    expect(calls).toBe(2);
    const s1 = await runner.run("ok");
    const s2 = await runner.run("ok");
    expect(calls).toBe(3);
    expect(s2.stepHistory[0].metadata.cacheHit).toBe(true);
    // the hit still applies updatesContext to the new run's fresh context
    expect(s1.finalPipelineContext?.seen).toBe("ok");
    expect(s2.finalPipelineContext?.seen).toBe("ok");
    expect(s2.finalPipelineContext).not.toBe(s1.finalPipelineContext);
    expect(f2.finalPipelineContext?.seen).toBeUndefined();
  });

  it("case 23: a backend that already holds a result is returned as a hit without executing", async () => {
    const agent = new StubAgent(["fresh"]);
    const stored = stepResult("c", { output: "from backend", success: true, attempts: 1 });
    const backend: CacheBackend = { get: async () => stored, set: async () => {} };
    const sr = await new ExecutorCore().execute(
      Step.cached(new Step({ name: "c", agent }), { backend }),
      "x",
    );
    expect(agent.calls).toBe(0);
    expect(sr.output).toBe("from backend");
    expect(sr.metadata.cacheHit).toBe(true);
  });

  it("the executor cache is on by default and keyed by input only, not by context", async () => {
    const agent = new StubAgent(["v"]);
    const runner = new Flujo(new Step({ name: "plain", agent }));
    await runner.run("same", { initialContextData: { user: "a" } });
    const again = await runner.run("same", { initialContextData: { user: "b" } });
    expect(agent.calls).toBe(1);
    expect(again.stepHistory[0].metadata.cacheHit).toBe(true);
    expect(again.finalPipelineContext?.stepOutputs).toEqual({ plain: "v" });
    const off = new Flujo(new Step({ name: "plain", agent }), { enableCache: false });
    await off.run("same");
    await off.run("same");
    expect(agent.calls).toBe(3);
  });

  it("the executor cache does not store a step that wrote to the context (a hit could not replay it)", async () => {
    let calls = 0;
    const step = Step.fromCallable(
      async (x: number, { context }) => {
        calls++;
        context.visits = ((context.visits as number | undefined) ?? 0) + 1;
        return x;
      },
      { name: "writer" },
    );
    const runner = new Flujo(step);
    const r1 = await runner.run(1);
    const r2 = await runner.run(1);
    expect(calls).toBe(2);
    expect(r1.finalPipelineContext?.visits).toBe(1);
    expect(r2.finalPipelineContext?.visits).toBe(1);
  });

  it("hits share one frozen output instead of deep-copying, and the miss keeps its own mutable object", async () => {
    const runner = new Flujo(Step.fromCallable(async (n: number) => ({ items: [n] }), { name: "obj" }));
    const miss = await runner.run(7);
    const hit1 = await runner.run(7);
    const hit2 = await runner.run(7);
    const out1 = hit1.output as { items: number[] };
    expect(out1).toEqual({ items: [7] });
    expect(out1).toBe(hit2.output);
    expect(Object.isFrozen(out1) && Object.isFrozen(out1.items)).toBe(true);
    expect(() => out1.items.push(8)).toThrow(TypeError);
    (miss.output as { items: number[] }).items.push(9);
    expect((hit2.output as { items: number[] }).items).toEqual([7]);
  });

  it("concurrent identical misses run the step once (single flight)", async () => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const step = Step.cached(
      Step.fromCallable(
        async (x: string) => {
          calls++;
          await gate;
          return `${x}!`;
        },
        { name: "slow" },
      ),
    );
    const core = new ExecutorCore({ enableCache: false });
    const runs = [core.execute(step, "k"), core.execute(step, "k"), core.execute(step, "k")];
    release();
    const results = await Promise.all(runs);
    expect(calls).toBe(1);
    expect(results.map((r) => r.output)).toEqual(["k!", "k!", "k!"]);
    expect(results.filter((r) => r.metadata.cacheHit === true)).toHaveLength(2);
  });

  it("a cached step with a circular input fails with a clear error naming the step", async () => {
    const input: Record<string, unknown> = { a: 1 };
    input.self = input;
    const sr = await new ExecutorCore().execute(
      Step.cached(new Step({ name: "cyc", agent: new StubAgent(["x"]) })),
      input,
    );
    expect(sr.success).toBe(false);
    expect(sr.feedback).toContain("Step 'cyc'");
    expect(sr.feedback).toMatch(/cycle|circular/i);
  });

  it("a cached step with a non-serializable input fails clearly; the executor cache just skips such inputs", async () => {
    const agent = new StubAgent(["x"]);
    const bad = await new ExecutorCore().execute(Step.cached(new Step({ name: "fn", agent })), {
      f: () => 1,
    });
    expect(bad.success).toBe(false);
    expect(bad.feedback).toContain("Step 'fn'");
    const plain = await new ExecutorCore().execute(new Step({ name: "fn2", agent }), { f: () => 1 });
    expect(plain.success).toBe(true);
  });

  it("cache backend errors count as misses", async () => {
    const agent = new StubAgent(["x"]);
    const broken: CacheBackend = {
      get: () => {
        throw new Error("get broke");
      },
      set: () => {
        throw new Error("set broke");
      },
    };
    const warnings: string[] = [];
    const core = new ExecutorCore({ logger: { error: () => {}, warn: (m) => void warnings.push(m) } });
    const sr = await core.execute(Step.cached(new Step({ name: "c", agent }), { backend: broken }), 1);
    expect(sr.success).toBe(true);
    expect(warnings.length).toBe(2);
  });

  it("InMemoryCache evicts the least recently used entry and expires by TTL", async () => {
    const cache = new InMemoryCache({ maxSize: 2, ttlS: 3600 });
    const r = (n: string): StepResult => stepResult(n);
    cache.set("a", r("a"));
    cache.set("b", r("b"));
    cache.get("a");
    cache.set("c", r("c"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.name).toBe("a");
    const short = new InMemoryCache({ ttlS: 0.001 });
    short.set("k", r("k"));
    await new Promise((res) => setTimeout(res, 5));
    expect(short.get("k")).toBeUndefined();
  });

  it("a plugin-failing step is never cached", async () => {
    const agent = new StubAgent(["x"]);
    const runner = new Flujo(
      new Step({ name: "p", agent, plugins: [new ScriptedPlugin([{ success: false }])] }),
    );
    await runner.run(1);
    await runner.run(1);
    expect(agent.calls).toBe(2);
  });
});
