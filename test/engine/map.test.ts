import { describe, expect, it } from "vitest";
import { MapStep } from "../../src/dsl/map.js";
import { ConfigurationError, ExecutorCore, Flujo, LoopStep, pipeline, Step } from "../../src/index.js";
import { costly, ScriptedPlugin, StubAgent } from "../support/agents.js";

const double = Step.fromCallable(async (x: number) => x * 2, { name: "double" });
const mapNums = (body: Step | ReturnType<typeof pipeline> = double) =>
  Step.mapOver({ name: "mapper", body, iterableInput: "nums" });

/** Yields to the event loop a few times, so concurrent runs interleave their iterations. */
const yieldTurns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe("mapOver (case 47)", () => {
  it("maps the body over a context field and outputs the list of outputs, in order", async () => {
    const result = await new Flujo(mapNums(), { initialContextData: { nums: [1, 2, 3] } }).run(null);
    const sr = result.stepHistory[0];
    expect(sr).toMatchObject({ name: "mapper", success: true, attempts: 3, output: [2, 4, 6] });
    expect(sr.metadata).toMatchObject({ exitReason: "condition", iterations: 3 });
    expect(sr.stepHistory.map((r) => r.output)).toEqual([2, 4, 6]);
    expect(result.output).toEqual([2, 4, 6]);
  });

  it("an empty list gives [] and succeeds without running the body", async () => {
    const agent = new StubAgent(["never"]);
    const map = mapNums(new Step({ name: "b", agent }));
    const result = await new Flujo(map, { initialContextData: { nums: [] } }).run(null);
    expect(result.stepHistory[0]).toMatchObject({ success: true, output: [], attempts: 0 });
    expect(result.stepHistory[0].metadata.exitReason).toBe("condition");
    expect(agent.calls).toBe(0);
  });

  it("a non-iterable field fails the step with a message about iterables", async () => {
    const result = await new Flujo(mapNums(), { initialContextData: { nums: 42 } }).run(null);
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.feedback).toContain("iterable");
    expect(sr.feedback).toBe(
      "Error in initial_input_to_loop_body_mapper for LoopStep 'mapper': Field 'nums' must be a non-string iterable, got 42",
    );
    expect(sr.attempts).toBe(0);
    expect(sr.metadata.exitReason).toBe("initial_input_mapper_error");
  });

  it("a string, null or plain object is not an iterable of items", async () => {
    for (const nums of ["abc", null, { a: 1 }]) {
      const result = await new Flujo(mapNums(), { initialContextData: { nums } }).run(null);
      expect(result.stepHistory[0].success).toBe(false);
      expect(result.stepHistory[0].feedback).toContain("Field 'nums' must be a non-string iterable");
    }
  });

  it("a missing field fails with Flujo's message", async () => {
    const result = await new Flujo(mapNums()).run(null);
    expect(result.stepHistory[0].success).toBe(false);
    expect(result.stepHistory[0].feedback).toContain("Context missing required field 'nums'");
  });

  it("two concurrent runs of one MapStep keep their items and results apart", async () => {
    const slowDouble = Step.fromCallable(
      async (x: number) => {
        await yieldTurns(x % 3);
        return x * 2;
      },
      { name: "slow_double" },
    );
    const runner = new Flujo(mapNums(slowDouble));
    const [a, b] = await Promise.all([
      runner.run(null, { initialContextData: { nums: [1, 2, 3, 4] } }),
      runner.run(null, { initialContextData: { nums: [50, 60] } }),
    ]);
    expect(a.output).toEqual([2, 4, 6, 8]);
    expect(b.output).toEqual([100, 120]);
    expect(a.stepHistory[0].attempts).toBe(4);
    expect(b.stepHistory[0].attempts).toBe(2);
  });

  it("the same step runs again after an empty run", async () => {
    const runner = new Flujo(mapNums());
    expect((await runner.run(null, { initialContextData: { nums: [] } })).output).toEqual([]);
    expect((await runner.run(null, { initialContextData: { nums: [3, 4] } })).output).toEqual([6, 8]);
  });

  it("maps 10,000 items", async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    const inc = Step.fromCallable((x: number) => x + 1, { name: "inc" });
    const result = await new Flujo(mapNums(inc), { initialContextData: { nums: items } }).run(null);
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(true);
    expect(sr.attempts).toBe(10_000);
    const out = sr.output as number[];
    expect(out).toHaveLength(10_000);
    expect(out[0]).toBe(1);
    expect(out[9_999]).toBe(10_000);
    expect(out.every((v, i) => v === i + 1)).toBe(true);
    expect(sr.stepHistory).toHaveLength(10_000);
  });

  it("accepts any non-string iterable (a Set) and a dotted path", async () => {
    const viaSet = await new ExecutorCore().execute(mapNums(), null, {
      context: { nums: new Set([1, 2]) },
    });
    expect(viaSet.output).toEqual([2, 4]);
    const nested = Step.mapOver({ name: "m", body: double, iterableInput: "batch.nums" });
    const result = await new Flujo(nested, { initialContextData: { batch: { nums: [5] } } }).run(null);
    expect(result.output).toEqual([10]);
  });

  it("reads the items once: the body changing the field does not change the iterations", async () => {
    const grow = Step.fromCallable(
      async (x: number, { context }) => {
        (context.nums as number[]).push(x);
        return x;
      },
      { name: "grow" },
    );
    const result = await new Flujo(mapNums(grow), { initialContextData: { nums: [1, 2] } }).run(null);
    expect(result.output).toEqual([1, 2]);
    expect(result.stepHistory[0].attempts).toBe(2);
  });

  it("context changes of one item are seen by the next", async () => {
    const seen: number[] = [];
    const count = Step.fromCallable(
      async (x: number, { context }) => {
        seen.push(context.counter as number);
        context.counter = (context.counter as number) + 1;
        return x;
      },
      { name: "count" },
    );
    const result = await new Flujo(mapNums(count), {
      initialContextData: { nums: [7, 8, 9], counter: 0 },
    }).run(null);
    expect(seen).toEqual([0, 1, 2]);
    expect(result.finalPipelineContext?.counter).toBe(3);
  });

  it("a failed item fails the map, the other items still run", async () => {
    const body = new Step({
      name: "check",
      agent: { run: async (x: unknown) => x },
      plugins: [
        {
          validate: async (d: Record<string, unknown>) =>
            d.output === 2 ? { success: false, feedback: "two is bad" } : { success: true },
        },
      ],
    });
    const result = await new Flujo(mapNums(body), { initialContextData: { nums: [1, 2, 3] } }).run(null);
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.feedback).toContain("Loop body failed");
    expect(sr.feedback).toContain("two is bad");
    expect(sr.output).toEqual([1, undefined, 3]);
    expect(sr.attempts).toBe(3);
  });

  it("a multi-step body stops the map at its first failure", async () => {
    const bad = new Step({
      name: "bad",
      agent: new StubAgent(["x"]),
      plugins: [new ScriptedPlugin([{ success: false, feedback: "nope" }])],
    });
    const result = await new Flujo(mapNums(pipeline(double, bad)), {
      initialContextData: { nums: [1, 2, 3] },
    }).run(null);
    const sr = result.stepHistory[0];
    expect(sr).toMatchObject({ success: false, attempts: 1 });
    expect(sr.metadata.exitReason).toBe("body_step_error");
    expect(sr.feedback).toContain("nope");
  });

  it("sums the cost and tokens of every item, and the executor cache stays off", async () => {
    const agent = costly("same", 0.25, 3);
    const result = await new Flujo(mapNums(new Step({ name: "s", agent })), {
      initialContextData: { nums: [1, 1, 1, 1] },
    }).run(null);
    expect(result.stepHistory[0].costUsd).toBeCloseTo(1);
    expect(result.stepHistory[0].tokenCounts).toBe(12);
    expect(result.totalCostUsd).toBeCloseTo(1);
    expect(agent.calls).toBe(4);
  });

  it("validates its options at build time, naming the step", () => {
    expect(() => Step.mapOver({ name: "m", body: double, iterableInput: "" })).toThrow(ConfigurationError);
    expect(() => Step.mapOver({ name: "m", body: double, iterableInput: "a.__proto__" })).toThrow(
      "MapStep 'm': iterableInput",
    );
    expect(() => Step.mapOver({ name: "m", body: 3 as never, iterableInput: "nums" })).toThrow(
      "MapStep 'm': body must be a Pipeline or a Step, got 3",
    );
    const map = mapNums();
    expect(map).toBeInstanceOf(MapStep);
    expect(map).toBeInstanceOf(LoopStep);
    expect(map.isComplex).toBe(true);
    expect(Object.isFrozen(map)).toBe(true);
  });
});
