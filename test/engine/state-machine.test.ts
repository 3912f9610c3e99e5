import { describe, expect, it } from "vitest";
import { StateMachineStep } from "../../src/dsl/stateMachine.js";
import {
  type AgentRunOptions,
  ConfigurationError,
  ExecutorCore,
  Flujo,
  PausedException,
  pipeline,
  Step,
} from "../../src/index.js";
import { costly, StubAgent } from "../support/agents.js";

type Ctx = Record<string, unknown>;

function fn(name: string, body: (input: unknown, ctx: Ctx) => unknown): Step {
  return Step.fromCallable(async (input: unknown, o: AgentRunOptions) => body(input, o.context as Ctx), {
    name,
  });
}

describe("state machine (§2.14)", () => {
  it("follows transitions on success until an end state; the step succeeds with no output", async () => {
    const visits: string[] = [];
    const sm = Step.stateMachine({
      name: "sm",
      states: {
        draft: fn("write", (x, ctx) => {
          visits.push("draft");
          ctx.text = `draft of ${x}`;
          return "written";
        }),
        review: pipeline(
          fn("read", (_x, ctx) => {
            visits.push(`review:${ctx.text}`);
            return "ok";
          }),
          fn("approve", () => "approved"),
        ),
      },
      startState: "draft",
      endStates: ["done"],
      transitions: [
        { from: "draft", on: "success", to: "review" },
        { from: "review", on: "success", to: "done" },
      ],
    });
    const result = await new Flujo(sm).run("topic");
    const sr = result.stepHistory[0];
    expect(sr).toMatchObject({ name: "sm", success: true, output: undefined, attempts: 1 });
    expect(sr.stepHistory.map((r) => r.name)).toEqual(["write", "read", "approve"]);
    expect(visits).toEqual(["draft", "review:draft of topic"]);
    const ctx = result.finalPipelineContext!;
    expect([ctx.currentState, ctx.nextState, ctx.text]).toEqual(["done", "done", "draft of topic"]);
  });

  it("a failed last step is a failure event; the state's pipeline still runs every step", async () => {
    const after = new StubAgent(["after"]);
    const sm = Step.stateMachine({
      name: "sm",
      states: {
        work: pipeline(
          new Step({ name: "first", agent: new StubAgent(["ok"]) }),
          new Step({ name: "flaky", agent: new StubAgent([new Error("down")]), config: { maxRetries: 0 } }),
        ),
        recover: new Step({ name: "recover", agent: after }),
      },
      startState: "work",
      endStates: ["end"],
      transitions: [
        { from: "work", on: "failure", to: "recover" },
        { from: "*", on: "success", to: "end" },
      ],
    });
    const result = await new Flujo(sm).run("x");
    expect(result.success).toBe(true);
    expect(result.stepHistory[0].stepHistory.map((r) => [r.name, r.success])).toEqual([
      ["first", true],
      ["flaky", false],
      ["recover", true],
    ]);
    expect(after.calls).toBe(1);
    expect(result.finalPipelineContext?.currentState).toBe("end");
  });

  it("a transition applies only when its `when` holds; a throwing `when` is skipped", async () => {
    const seen: unknown[] = [];
    const sm = Step.stateMachine({
      name: "sm",
      states: { a: fn("score", () => 7), high: fn("h", () => "high"), low: fn("l", () => "low") },
      startState: "a",
      endStates: ["end"],
      transitions: [
        {
          from: "a",
          on: "success",
          to: "end",
          when: () => {
            throw new Error("bad rule");
          },
        },
        {
          from: "a",
          on: "success",
          to: "high",
          when: (payload) => {
            seen.push(payload);
            return (payload.lastOutput as number) > 5;
          },
        },
        { from: "a", on: "success", to: "low" },
        { from: "*", on: "success", to: "end" },
      ],
    });
    const result = await new Flujo(sm, { logger: { error: () => {}, warn: () => {} } }).run(0);
    expect(result.stepHistory[0].stepHistory.map((r) => r.output)).toEqual([7, "high"]);
    expect(seen).toEqual([
      { event: "success", lastOutput: 7, lastStep: { name: "score", success: true, feedback: undefined } },
    ]);
  });

  it("without a matching transition, the next state is the context's nextState", async () => {
    const sm = Step.stateMachine({
      name: "sm",
      states: {
        a: fn("a", (_x, ctx) => {
          ctx.nextState = "b";
        }),
        b: fn("b", (_x, ctx) => {
          ctx.nextState = "done";
          return { nextState: "a" };
        }),
      },
      startState: "a",
      endStates: ["done"],
    });
    const result = await new Flujo(sm).run(0);
    expect(result.stepHistory[0].stepHistory.map((r) => r.name)).toEqual(["a", "b"]);
    expect(result.finalPipelineContext?.currentState).toBe("done");
  });

  it("an output's nextState is used when the context has none", async () => {
    const sm = Step.stateMachine({
      name: "sm",
      states: { a: fn("a", () => ({ nextState: "done" })) },
      startState: "a",
      endStates: ["done"],
    });
    const result = await new Flujo(sm).run(0);
    expect(result.finalPipelineContext?.currentState).toBe("done");
  });

  it("stops after 10 hops per state, with the executor cache off inside the states", async () => {
    const agent = new StubAgent(["again"]);
    const sm = Step.stateMachine({
      name: "sm",
      states: { loop: new Step({ name: "spin", agent }) },
      startState: "loop",
      transitions: [{ from: "loop", on: "success", to: "loop" }],
    });
    const result = await new Flujo(sm).run("same input");
    expect(result.success).toBe(true);
    expect(agent.calls).toBe(10);
    expect(result.stepHistory[0].stepHistory).toHaveLength(10);
  });

  it("starts from the context's currentState; an unknown state fails the step", async () => {
    const sm = Step.stateMachine({
      name: "sm",
      states: { a: fn("a", () => 1), b: fn("b", () => 2) },
      startState: "a",
      endStates: ["end"],
      transitions: [{ from: "*", on: "success", to: "end" }],
    });
    const fromB = await new Flujo(sm).run(0, { initialContextData: { currentState: "b" } });
    expect(fromB.stepHistory[0].stepHistory.map((r) => r.name)).toEqual(["b"]);
    const unknown = await new Flujo(sm).run(0, { initialContextData: { currentState: "nowhere" } });
    expect(unknown.success).toBe(false);
    expect(unknown.stepHistory[0]).toMatchObject({
      name: "sm",
      success: false,
      feedback: "Unknown state: nowhere",
    });
  });

  it("aggregates the states' cost and tokens", async () => {
    const sm = Step.stateMachine({
      name: "sm",
      states: {
        a: new Step({ name: "a", agent: costly("a", 0.1, 2) }),
        b: new Step({ name: "b", agent: costly("b", 0.25, 3) }),
      },
      startState: "a",
      endStates: ["end"],
      transitions: [
        { from: "a", on: "success", to: "b" },
        { from: "b", on: "success", to: "end" },
      ],
    });
    const result = await new Flujo(sm).run(0);
    expect(result.stepHistory[0].costUsd).toBeCloseTo(0.35);
    expect(result.stepHistory[0].tokenCounts).toBe(5);
    expect(result.totalCostUsd).toBeCloseTo(0.35);
  });

  it("a pause takes the pause transition, marks the context paused and re-raises", async () => {
    const sm = Step.stateMachine({
      name: "sm",
      states: {
        ask: fn("ask", (_x, ctx) => {
          ctx.asked = true;
          throw new PausedException("your call?");
        }),
        decide: fn("decide", () => "decided"),
      },
      startState: "ask",
      endStates: ["end"],
      transitions: [{ from: "ask", on: "pause", to: "decide" }],
    });
    const core = new ExecutorCore();
    const context = core.frame({}).context;
    const err = await core.execute(sm, 0, { context }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PausedException);
    expect([context.currentState, context.nextState, context.status, context.pauseMessage]).toEqual([
      "decide",
      "decide",
      "paused",
      "your call?",
    ]);
    expect(context.asked).toBeUndefined();
  });

  it("validates states and transitions at construction", () => {
    const s = fn("s", () => 1);
    const bad: Array<[object, string]> = [
      [{ states: { a: "x" }, startState: "a" }, "state 'a' must be a Pipeline or a Step"],
      [{ states: { a: s }, startState: "zzz" }, "startState must name a state or an end state"],
      [
        { states: { a: s }, startState: "a", transitions: [{ from: "q", on: "success", to: "a" }] },
        "'from' references unknown state: \"q\"",
      ],
      [
        { states: { a: s }, startState: "a", transitions: [{ from: "a", on: "done", to: "a" }] },
        "'on' must be",
      ],
      [
        { states: { a: s }, startState: "a", transitions: [{ from: "a", on: "success", to: "b" }] },
        "'to' must be an existing state or an end state",
      ],
      [
        {
          states: { a: s },
          startState: "a",
          transitions: [{ from: "a", on: "success", to: "a", when: "x > 1" }],
        },
        "'when' must be a function",
      ],
      [{ states: { a: s }, startState: "a", endStates: "end" }, "endStates must be an array"],
    ];
    for (const [options, message] of bad) {
      expect(() => Step.stateMachine({ name: "m", ...options } as never)).toThrow(ConfigurationError);
      expect(() => Step.stateMachine({ name: "m", ...options } as never)).toThrow(`StateMachineStep 'm'`);
      expect(() => Step.stateMachine({ name: "m", ...options } as never)).toThrow(message);
    }
    const ok = Step.stateMachine({
      name: "m",
      states: { a: s },
      startState: "a",
      endStates: ["end"],
      transitions: [{ from: "*", on: "success", to: "end" }],
    });
    expect(ok).toBeInstanceOf(StateMachineStep);
    expect(Object.isFrozen(ok)).toBe(true);
  });
});
