import { describe, expect, it } from "vitest";
import { ConfigurationError, Flujo, LoopStep, Pipeline, pipeline, Step } from "../../src/index.js";
import { ScriptedPlugin, StubAgent } from "../support/agents.js";

const gen = (agent: StubAgent) => new Step({ name: "gen", agent });
const critic = (agent: StubAgent) => new Step({ name: "critic", agent });

describe("refineUntil", () => {
  it("regenerates with the critic's feedback until the critic is satisfied, then outputs the artifact", async () => {
    const generator = new StubAgent(["draft1", "draft2"]);
    const judge = new StubAgent([
      { isComplete: false, feedback: "bad" },
      { isComplete: true, feedback: "good" },
    ]);
    const refine = Step.refineUntil({
      name: "refine",
      generator: gen(generator),
      critic: critic(judge),
      maxRefinements: 3,
    });
    expect(refine).toBeInstanceOf(Pipeline);
    expect(refine.steps.map((s) => s.name)).toEqual(["refine", "refine_output_mapper"]);
    expect(refine.steps[0]).toBeInstanceOf(LoopStep);

    const result = await new Flujo(refine).run("goal");
    expect(result.success).toBe(true);
    expect(result.output).toBe("draft2");
    expect(generator.inputs).toEqual([
      { originalInput: "goal", feedback: undefined },
      { originalInput: "goal", feedback: "bad" },
    ]);
    expect(judge.inputs).toEqual(["draft1", "draft2"]);
    const loop = result.stepHistory[0];
    expect(loop).toMatchObject({ name: "refine", success: true, attempts: 2 });
    expect(loop.metadata.exitReason).toBe("condition");
    expect(loop.stepHistory.map((r) => r.name)).toEqual([
      "gen",
      "_capture_artifact",
      "critic",
      "gen",
      "_capture_artifact",
      "critic",
    ]);
    expect(result.stepHistory[1]).toMatchObject({ name: "refine_output_mapper", output: "draft2" });
  });

  it("a feedback mapper builds the next generation's input", async () => {
    const generator = new StubAgent(["v1", "v2"]);
    const refine = Step.refineUntil({
      name: "refine_map",
      generator: gen(generator),
      critic: critic(
        new StubAgent([
          { isComplete: false, feedback: "err" },
          { isComplete: true, feedback: "done" },
        ]),
      ),
      feedbackMapper: (original, check) => ({
        originalInput: `${original}-orig`,
        feedback: `fix:${check.feedback}`,
      }),
    });
    const result = await new Flujo(refine).run("goal");
    expect(result.output).toBe("v2");
    expect(generator.inputs[1]).toEqual({ originalInput: "goal-orig", feedback: "fix:err" });
  });

  it("running out of refinements fails the loop with the last check and stops the pipeline", async () => {
    const generator = new StubAgent(["a", "b", "c"]);
    const judge = new StubAgent([{ isComplete: false, feedback: "again" }]);
    const refine = Step.refineUntil({
      name: "r",
      generator: gen(generator),
      critic: critic(judge),
      maxRefinements: 2,
    });
    const result = await new Flujo(refine).run("goal");
    expect(result.success).toBe(false);
    expect(result.stepHistory).toHaveLength(1);
    expect(result.stepHistory[0]).toMatchObject({
      name: "r",
      success: false,
      attempts: 2,
      feedback: "reached max_loops",
      output: { isComplete: false, feedback: "again" },
    });
    expect(generator.calls).toBe(2);
    expect(
      Step.refineUntil({ name: "d", generator: gen(generator), critic: critic(judge) }).steps[0],
    ).toMatchObject({
      maxLoops: 5,
    });
  });

  it("a critic output that is not a RefinementCheck ends the loop and is the output", async () => {
    const refine = Step.refineUntil({
      name: "r",
      generator: gen(new StubAgent(["draft"])),
      critic: critic(new StubAgent(["looks fine"])),
    });
    const result = await new Flujo(refine).run("goal");
    expect(result.success).toBe(true);
    expect(result.output).toBe("looks fine");
    expect(result.stepHistory[0].attempts).toBe(1);
  });

  it("concurrent runs of one refinement pipeline keep their artifacts apart", async () => {
    const generator = Step.fromCallable(
      async (input: { originalInput: string; feedback: string | undefined }) => {
        await new Promise((resolve) => setImmediate(resolve));
        return `${input.originalInput}-${input.feedback ?? "none"}`;
      },
      { name: "gen" },
    );
    const judge = Step.fromCallable(
      async (artifact: string) => {
        await new Promise((resolve) => setImmediate(resolve));
        return artifact.endsWith("-none") ? { isComplete: false, feedback: "fix" } : { isComplete: true };
      },
      { name: "critic" },
    );
    const runner = new Flujo(Step.refineUntil({ name: "r", generator, critic: judge, maxRefinements: 2 }));
    const [a, b] = await Promise.all([runner.run("A"), runner.run("B")]);
    expect(a.output).toBe("A-fix");
    expect(b.output).toBe("B-fix");
  });

  it("multi-step generator and critic pipelines; a failed generation stops the loop", async () => {
    const upper = Step.fromCallable(async (s: string) => s.toUpperCase(), { name: "upper" });
    const draft = Step.fromCallable(async (i: { originalInput: string }) => i.originalInput, {
      name: "draft",
    });
    const measure = Step.fromCallable(async (s: string) => s.length, { name: "measure" });
    const verdict = Step.fromCallable(async (n: number) => ({ isComplete: n > 2 }), { name: "verdict" });
    const ok = await new Flujo(
      Step.refineUntil({ name: "r", generator: pipeline(draft, upper), critic: pipeline(measure, verdict) }),
    ).run("abc");
    expect(ok.output).toBe("ABC");

    const bad = new Step({
      name: "bad_gen",
      agent: new StubAgent(["x"]),
      plugins: [new ScriptedPlugin([{ success: false, feedback: "no draft" }])],
    });
    const failed = await new Flujo(
      Step.refineUntil({ name: "r", generator: bad, critic: critic(new StubAgent([{ isComplete: true }])) }),
    ).run("abc");
    expect(failed.stepHistory[0].success).toBe(false);
    expect(failed.stepHistory[0].metadata.exitReason).toBe("body_step_error");
    expect(failed.stepHistory[0].feedback).toContain("no draft");
  });

  it("validates its options at build time, naming the step", () => {
    const g = gen(new StubAgent(["x"]));
    const c = critic(new StubAgent([{ isComplete: true }]));
    expect(() => Step.refineUntil({ name: "r", generator: g, critic: c, maxRefinements: 0 })).toThrow(
      "refineUntil 'r': maxRefinements must be an integer >= 1, got 0",
    );
    expect(() => Step.refineUntil({ name: "r", generator: "g" as never, critic: c })).toThrow(
      "refineUntil 'r': generator must be a Pipeline or a Step",
    );
    expect(() =>
      Step.refineUntil({ name: "r", generator: g, critic: c, feedbackMapper: 1 as never }),
    ).toThrow(ConfigurationError);
  });
});
