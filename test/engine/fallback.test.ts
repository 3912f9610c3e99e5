import { describe, expect, it } from "vitest";
import { ExecutorCore, Flujo, pipeline, Step } from "../../src/index.js";
import { costly, FailingAgent, ScriptedPlugin, StubAgent } from "../support/agents.js";

const failingPlugin = (feedback: string) => new ScriptedPlugin([{ success: false, feedback }]);

describe("fallbacks (cases 12-17)", () => {
  it("case 12: a succeeding primary never calls the fallback and leaves metadata empty", async () => {
    const fbAgent = new StubAgent(["fb"]);
    const step = new Step({
      name: "p",
      agent: new StubAgent(["ok"]),
      fallbackStep: new Step({ name: "fb", agent: fbAgent }),
    });
    const sr = await new ExecutorCore().execute(step, 0);
    expect(sr.output).toBe("ok");
    expect(fbAgent.calls).toBe(0);
    expect(sr.metadata).toEqual({});
  });

  it("case 13: a primary whose plugin fails is retried, then the fallback runs once and its output wins", async () => {
    const primary = new StubAgent(["bad"]);
    const fbAgent = new StubAgent(["good"]);
    const step = new Step({
      name: "p",
      agent: primary,
      config: { maxRetries: 1 },
      plugins: [failingPlugin("nope")],
      fallbackStep: new Step({ name: "fb", agent: fbAgent }),
    });
    const sr = await new ExecutorCore().execute(step, "in");
    expect(primary.calls).toBe(2);
    expect(fbAgent.calls).toBe(1);
    expect(fbAgent.inputs).toEqual(["in"]);
    expect(sr.success).toBe(true);
    expect(sr.output).toBe("good");
    expect(sr.metadata.fallbackTriggered).toBe(true);
    expect(sr.attempts).toBe(3);
  });

  it("case 14: when primary and fallback both fail, the feedback holds both messages", async () => {
    const step = new Step({
      name: "p",
      agent: new StubAgent(["a"]),
      plugins: [failingPlugin("primary bad")],
      fallbackStep: new Step({
        name: "fb",
        agent: new StubAgent(["b"]),
        plugins: [failingPlugin("fallback bad")],
      }),
    });
    const sr = await new ExecutorCore().execute(step, 0);
    expect(sr.success).toBe(false);
    expect(sr.feedback).toBe(
      "Original error: Plugin execution failed: Plugin validation failed: primary bad; Fallback error: Plugin execution failed: Plugin validation failed: fallback bad",
    );
    expect(sr.metadata).toMatchObject({ fallbackTriggered: true });
  });

  it("case 15: a successful fallback costs its own cost, adds the primary's tokens and clears the feedback", async () => {
    const step = new Step({
      name: "p",
      agent: new StubAgent(["one token"]),
      config: { maxRetries: 0 },
      plugins: [failingPlugin("no")],
      fallbackStep: new Step({ name: "fb", agent: costly("fb out", 0.2, 5) }),
    });
    const sr = await new ExecutorCore().execute(step, 0);
    expect(sr.costUsd).toBeCloseTo(0.2);
    expect(sr.tokenCounts).toBe(6);
    expect(sr.feedback).toBeUndefined();
    expect(sr.metadata.originalError).toBe("Plugin execution failed: Plugin validation failed: no");
    expect(sr.name).toBe("fb");
  });

  it("preserveFallbackDiagnostics keeps the primary's failure as feedback", async () => {
    const step = new Step({
      name: "p",
      agent: new FailingAgent(() => new Error("down")),
      config: { maxRetries: 0, preserveFallbackDiagnostics: true },
      fallbackStep: new Step({ name: "fb", agent: new StubAgent(["ok"]) }),
    });
    const sr = await new ExecutorCore().execute(step, 0);
    expect(sr.feedback).toBe("Primary agent failed: Agent execution failed with Error: down");
  });

  it("case 16: two steps that fall back to each other fail without raising and report the loop", async () => {
    // Steps are immutable, so an object cycle cannot be built; fallback loops are detected by name (as in
    // Flujo), and "a -> b -> a" below is that cycle.
    const aAgent = new FailingAgent(() => new Error("a down"));
    const bAgent = new FailingAgent(() => new Error("b down"));
    const aAgain = new Step({ name: "a", agent: aAgent, config: { maxRetries: 0 } });
    const b = new Step({ name: "b", agent: bAgent, config: { maxRetries: 0 }, fallbackStep: aAgain });
    const a = new Step({ name: "a", agent: aAgent, config: { maxRetries: 0 }, fallbackStep: b });
    const sr = await new ExecutorCore().execute(a, 0);
    expect(sr.success).toBe(false);
    expect(sr.feedback?.toLowerCase()).toMatch(/fallback|loop/);
    expect(sr.feedback).toContain("Fallback loop detected for step 'b'");
  });

  it("case 17: s1 >> s2 (fails, falls back) >> s3: history[1] is the fallback's output and s3 runs", async () => {
    const s3 = new StubAgent(["three"]);
    const s2 = new Step({
      name: "s2",
      agent: new FailingAgent(() => new Error("s2 down")),
      config: { maxRetries: 0 },
      fallbackStep: new Step({ name: "s2_fb", agent: new StubAgent(["from fallback"]) }),
    });
    const result = await new Flujo(
      pipeline(
        new Step({ name: "s1", agent: new StubAgent(["one"]) }),
        s2,
        new Step({ name: "s3", agent: s3 }),
      ),
    ).run("x");
    expect(result.stepHistory[1].output).toBe("from fallback");
    expect(result.stepHistory[1].metadata.fallbackTriggered).toBe(true);
    expect(s3.inputs).toEqual(["from fallback"]);
    expect(result.success).toBe(true);
  });

  it("a validator failure with a fallback runs the fallback and records the validation failure", async () => {
    const step = new Step({
      name: "p",
      agent: new StubAgent(["x"]),
      validators: [() => ({ isValid: false, feedback: "too weak" })],
      fallbackStep: new Step({ name: "fb", agent: new StubAgent(["strong"]) }),
    });
    const sr = await new ExecutorCore().execute(step, 0);
    expect(sr.output).toBe("strong");
    expect(sr.metadata).toMatchObject({
      validationFallbackUsed: true,
      fallbackTriggered: true,
      validationFailure: "too weak",
      originalError: "too weak",
    });
  });

  it("the fallback gets exactly one attempt", async () => {
    const fbAgent = new FailingAgent(() => new Error("fb down"));
    const step = new Step({
      name: "p",
      agent: new FailingAgent(() => new Error("p down")),
      config: { maxRetries: 0 },
      fallbackStep: new Step({ name: "fb", agent: fbAgent, config: { maxRetries: 5 } }),
    });
    const sr = await new ExecutorCore().execute(step, 0);
    expect(fbAgent.calls).toBe(1);
    expect(sr.attempts).toBe(2);
  });
});
