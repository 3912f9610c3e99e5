import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ExecutorCore,
  Flujo,
  InfiniteRedirectError,
  MissingAgentError,
  pipeline,
  Step,
  TypeMismatchError,
} from "../../src/index.js";
import { FailingAgent, RuntimeError, ScriptedPlugin, StubAgent } from "../support/agents.js";

describe("agent steps: retries, plugins, redirects (cases 6-11, 54, 57)", () => {
  it("case 6: an always-failing agent with maxRetries=1 makes 2 attempts and halts the pipeline", async () => {
    const agent = new FailingAgent(() => new RuntimeError("Test failure"));
    const after = new StubAgent(["never"]);
    const result = await new Flujo(
      pipeline(
        new Step({ name: "bad", agent, config: { maxRetries: 1 } }),
        new Step({ name: "after", agent: after }),
      ),
    ).run("x");
    const sr = result.stepHistory[0];
    expect(sr.attempts).toBe(2);
    expect(agent.calls).toBe(2);
    expect(sr.feedback).toContain("RuntimeError");
    expect(sr.feedback).toContain("Test failure");
    expect(sr.feedback).toBe("Agent execution failed with RuntimeError: Test failure");
    expect(result.stepHistory).toHaveLength(1);
    expect(after.calls).toBe(0);
  });

  it("a retry succeeds on the second attempt and reports attempts=2", async () => {
    const agent = new StubAgent([new Error("flaky"), "ok"]);
    const sr = await new ExecutorCore().execute(
      new Step({ name: "s", agent, config: { maxRetries: 2 } }),
      "in",
    );
    expect(sr).toMatchObject({ success: true, output: "ok", attempts: 2 });
    expect(agent.inputs).toEqual(["in", "in"]);
  });

  it("case 7: a step with a failing plugin and no fallback gets one attempt whatever maxRetries says", async () => {
    const agent = new StubAgent(["x"]);
    const plugin = new ScriptedPlugin([{ success: false, feedback: "bad output" }]);
    const result = await new Flujo(
      new Step({ name: "s", agent, plugins: [plugin], config: { maxRetries: 3 } }),
    ).run("in");
    expect(agent.calls).toBe(1);
    expect(result.stepHistory[0].attempts).toBe(1);
    expect(result.stepHistory[0].feedback).toBe(
      "Plugin execution failed: Plugin validation failed: bad output",
    );
  });

  it("case 8: a plugin redirect runs the other agent once on the original input", async () => {
    const primary = new StubAgent(["draft"]);
    const fixit = new StubAgent(["fixed"]);
    const plugin = new ScriptedPlugin([{ success: false, redirectTo: fixit }, { success: true }]);
    const result = await new Flujo(new Step({ name: "s", agent: primary, plugins: [plugin] })).run(
      "original",
    );
    expect(primary.calls).toBe(1);
    expect(fixit.calls).toBe(1);
    expect(fixit.inputs).toEqual(["original"]);
    expect(result.output).toBe("fixed");
    expect(result.success).toBe(true);
  });

  it("case 9: redirects a1 -> a2 -> a1 raise InfiniteRedirectError from run", async () => {
    // a1 is the step's own agent: its plugin sends it to a2, a2's output back to a1, and a1's to a2 again.
    const a1 = new StubAgent(["one", "one again"]);
    const a2 = new StubAgent(["two", "two again"]);
    const plugin = new ScriptedPlugin([
      { success: false, redirectTo: a2 },
      { success: false, redirectTo: a1 },
      { success: false, redirectTo: a2 },
    ]);
    const runner = new Flujo(new Step({ name: "s", agent: a1, plugins: [plugin] }));
    await expect(runner.run("x")).rejects.toBeInstanceOf(InfiniteRedirectError);
    expect(a1.calls).toBe(2);
    expect(a2.calls).toBe(1);
  });

  it("case 10: an AgentResult gives the output to history and plugins and counts its usage", async () => {
    const plugin = new ScriptedPlugin([{ success: true }]);
    const agent = new StubAgent([{ output: "ok", tokenCounts: 2, costUsd: 0.1 }]);
    const result = await new Flujo(new Step({ name: "s", agent, plugins: [plugin] })).run("x");
    expect(result.stepHistory[0].output).toBe("ok");
    expect(plugin.seen).toEqual([{ output: "ok" }]);
    expect(result.stepHistory[0].tokenCounts).toBe(2);
    expect(result.totalCostUsd).toBeCloseTo(0.1);
  });

  it("plugins run in descending priority and a plain-object output reaches them as is", async () => {
    const order: string[] = [];
    const mk = (name: string) => ({
      name,
      validate: async (data: Record<string, unknown>) => {
        order.push(`${name}:${JSON.stringify(data)}`);
        return { success: true };
      },
    });
    await new ExecutorCore().execute(
      new Step({
        name: "s",
        agent: async () => ({ a: 1 }),
        plugins: [[mk("low"), 1], [mk("high"), 10], mk("zero")],
      }),
      null,
    );
    expect(order).toEqual(['high:{"a":1}', 'low:{"a":1}', 'zero:{"a":1}']);
  });

  it("a plugin newSolution replaces the output and the plugins run again", async () => {
    const plugin = new ScriptedPlugin([{ success: true, newSolution: "repaired" }, { success: true }]);
    const sr = await new ExecutorCore().execute(
      new Step({ name: "s", agent: new StubAgent(["raw"]), plugins: [plugin] }),
      0,
    );
    expect(sr.output).toBe("repaired");
    expect(plugin.seen).toEqual([{ output: "raw" }, { output: "repaired" }]);
  });

  it("a plugin that throws fails the step with its name in the feedback", async () => {
    const plugin = {
      name: "Checker",
      validate: async () => {
        throw new Error("db down");
      },
    };
    const sr = await new ExecutorCore().execute(
      new Step({ name: "s", agent: new StubAgent(["x"]), plugins: [plugin] }),
      0,
    );
    expect(sr.success).toBe(false);
    expect(sr.feedback).toBe("Plugin execution failed: Plugin Checker failed: db down");
  });

  it("case 11: failure handlers of a failing step run exactly once", async () => {
    let calls = 0;
    const step = new Step({
      name: "s",
      agent: new FailingAgent(() => new Error("x")),
      failureHandlers: [() => void calls++],
    });
    const result = await new Flujo(step).run("x");
    expect(calls).toBe(1);
    expect(result.stepHistory[0].metadata.failureHandlersRan).toBe(true);
  });

  it("case 54: a step without an agent raises MissingAgentError from run", async () => {
    await expect(new Flujo(new Step({ name: "empty" })).run("x")).rejects.toThrow(MissingAgentError);
    await expect(new Flujo(new Step({ name: "empty" })).run("x")).rejects.toThrow(
      "Step 'empty' has no agent configured",
    );
  });

  it("case 54: a number flowing into a step whose inputSchema wants a string raises TypeMismatchError", async () => {
    const toInt = Step.fromCallable(async (s: string) => s.length, { name: "toInt" });
    const wantsString = Step.fromCallable(async (s: string) => s.toUpperCase(), {
      name: "upper",
      inputSchema: z.string(),
    });
    const runner = new Flujo(toInt.pipe(wantsString as unknown as Step<number, string>));
    const err = await runner.run("abc").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeMismatchError);
    expect((err as Error).message).toContain("'upper'");
  });

  it("untyped steps accept anything, including a null output (deliberate difference)", async () => {
    const nothing = Step.fromCallable(async () => null, { name: "nothing" });
    const echo = Step.fromCallable(async (x: unknown) => ({ got: x }), { name: "echo" });
    const result = await new Flujo(nothing.pipe(echo)).run(1);
    expect(result.output).toEqual({ got: null });
  });

  it("case 57: ExecutorCore.execute returns a failed StepResult when the agent raises", async () => {
    const agent = {
      run: async () => {
        throw new Error("boom");
      },
    };
    const sr = await new ExecutorCore().execute(
      new Step({ name: "s", agent, config: { maxRetries: 0 } }),
      {},
    );
    expect(sr.success).toBe(false);
    expect(sr.feedback).toContain("boom");
  });

  it("validators: an invalid output fails the step without retrying", async () => {
    const agent = new StubAgent(["short"]);
    const step = new Step({
      name: "s",
      agent,
      config: { maxRetries: 3 },
      validators: [(out: unknown) => ({ isValid: String(out).length > 10, feedback: "too short" })],
    });
    const sr = await new ExecutorCore().execute(step, 0);
    expect(agent.calls).toBe(1);
    expect(sr).toMatchObject({
      success: false,
      output: "short",
      feedback: "Validation failed: Agent exception: too short",
    });
    expect(sr.metadata.validationFallbackUsed).toBe(false);
  });

  it("validators: a message that names an error is not prefixed, and a throwing validator is named", async () => {
    const named = new Step({
      name: "s",
      agent: new StubAgent(["x"]),
      validators: [() => ({ isValid: false, feedback: "schema error at $.a" })],
    });
    expect((await new ExecutorCore().execute(named, 0)).feedback).toBe(
      "Validation failed: schema error at $.a",
    );
    const throwing = new Step({
      name: "t",
      agent: new StubAgent(["x"]),
      validators: [
        {
          name: "Strict",
          validate: () => {
            throw new Error("kaput");
          },
        },
      ],
    });
    expect((await new ExecutorCore().execute(throwing, 0)).feedback).toBe(
      "Validation failed: Agent exception: Validator Strict failed: kaput",
    );
  });

  it("processors: prompt processors shape the input, output processors the output", async () => {
    const agent = new StubAgent(["out"]);
    const step = new Step({
      name: "s",
      agent,
      processors: {
        promptProcessors: [
          (d: unknown) => `${String(d)}!`,
          { process: async (d: unknown) => `<${String(d)}>` },
        ],
        outputProcessors: [(d: unknown) => String(d).toUpperCase()],
      },
    });
    const sr = await new ExecutorCore().execute(step, "in");
    expect(agent.inputs).toEqual(["<in!>"]);
    expect(sr.output).toBe("OUT");
  });

  it("processors: a failing prompt processor fails at once; a failing output processor retries", async () => {
    const agent = new StubAgent(["a"]);
    const badPrompt = new Step({
      name: "p",
      agent,
      processors: {
        promptProcessors: [
          () => {
            throw new Error("cannot prepare");
          },
        ],
      },
    });
    const sr = await new ExecutorCore().execute(badPrompt, 0);
    expect(sr).toMatchObject({
      success: false,
      attempts: 1,
      feedback: "Agent execution failed: cannot prepare",
    });
    expect(agent.calls).toBe(0);
    let n = 0;
    const flaky = new Step({
      name: "o",
      agent: new StubAgent(["a"]),
      config: { maxRetries: 2 },
      processors: {
        outputProcessors: [
          (d: unknown) => {
            if (n++ === 0) throw new Error("parse");
            return d;
          },
        ],
      },
    });
    const ok = await new ExecutorCore().execute(flaky, 0);
    expect(ok).toMatchObject({ success: true, attempts: 2 });
  });

  it("sampling settings reach the agent, and options always carry context, resources and a signal (case 49)", async () => {
    let seen: Record<string, unknown> = {};
    const agent = {
      run: async (_input: unknown, options: import("../../src/index.js").AgentRunOptions) => {
        seen = {
          temperature: options.temperature,
          topK: options.topK,
          hasContext: typeof options.context === "object",
          resources: options.resources,
          signal: options.signal instanceof AbortSignal,
        };
        return "ok";
      },
    };
    await new ExecutorCore().execute(
      new Step({ name: "s", agent, config: { temperature: 0.2, topK: 5 } }),
      0,
      { resources: "R" },
    );
    expect(seen).toEqual({ temperature: 0.2, topK: 5, hasContext: true, resources: "R", signal: true });
  });

  it("case 49: an agent whose run ignores the options works unchanged", async () => {
    const agent = { run: async (data: string) => `${data}-done` };
    const sr = await new ExecutorCore().execute(new Step({ name: "s", agent }), "job");
    expect(sr.output).toBe("job-done");
  });
});
