import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type AgentRunOptions,
  Flujo,
  type HookPayload,
  HumanInputValidationError,
  HumanInTheLoopStep,
  type PipelineContext,
  PipelineResult,
  pipeline,
  ResumeError,
  Step,
  UsageLimitExceededError,
} from "../../src/index.js";
import { costly, recorder, StubAgent } from "../support/agents.js";

const ok = (name: string, output: unknown) => new Step({ name, agent: new StubAgent([output]) });
const echo = (name: string) => Step.fromCallable(async (x: unknown) => x, { name });
const ask = (name: string, messageForUser?: string) => Step.humanInTheLoop({ name, messageForUser });
const ctxOf = (r: PipelineResult<PipelineContext>) => r.finalPipelineContext as PipelineContext;

describe("human in the loop: pause (§2.13)", () => {
  it("case 51: a HITL step pauses the run; resume records the answer and finishes", async () => {
    const runner = new Flujo(pipeline(ok("draft", "text v1"), ask("approve", "OK?")));
    const paused = await runner.run("start");

    expect(paused.status).toBe("paused");
    expect(paused.success).toBe(false);
    expect(paused.stepHistory.map((r) => r.name)).toEqual(["draft"]);
    const ctx = ctxOf(paused);
    expect(ctx.status).toBe("paused");
    expect(ctx.pauseMessage).toBe("OK?");
    expect(ctx.pausedStepInput).toBe("text v1");
    expect(ctx.hitlData).toEqual({ lastHitlStep: "approve" });
    expect(ctx.conversationHistory).toEqual([{ role: "assistant", content: "OK?" }]);

    const resumed = await runner.resume(paused, "yes");
    expect(resumed.status).toBe("completed");
    expect(resumed.success).toBe(true);
    expect(resumed.output).toBe("yes");
    expect(resumed.stepHistory.map((r) => [r.name, r.output, r.success, r.attempts])).toEqual([
      ["draft", "text v1", true, 1],
      ["approve", "yes", true, 1],
    ]);
    const after = ctxOf(resumed);
    expect(after.hitlHistory).toMatchObject([{ messageToHuman: "OK?", humanResponse: "yes" }]);
    expect(typeof after.hitlHistory[0].timestamp).toBe("string");
    expect(after.conversationHistory).toEqual([
      { role: "assistant", content: "OK?" },
      { role: "user", content: "yes" },
    ]);
    expect(after.userInput).toBe("yes");
    expect(after.stepOutputs.approve).toBe("yes");
    expect(after.pauseMessage).toBeUndefined();
    expect(after.pausedStepInput).toBeUndefined();
    expect(after.commandLog).toMatchObject([
      { turn: 1, generatedCommand: { type: "ask_human", question: "OK?" }, executionResult: "yes" },
    ]);
  });

  it("without messageForUser the message is the step's input (objects as JSON); a function gets input and context", async () => {
    const plain = await new Flujo(pipeline(ok("a", "please review"), ask("h"))).run("x");
    expect(ctxOf(plain).pauseMessage).toBe("please review");
    const obj = await new Flujo(pipeline(ok("a", { id: 7 }), ask("h"))).run("x");
    expect(ctxOf(obj).pauseMessage).toBe('{"id":7}');
    expect(ctxOf(obj).pausedStepInput).toEqual({ id: 7 });
    const fn = Step.humanInTheLoop({
      name: "h",
      messageForUser: (input, context) => `Approve ${String(input)} for ${String(context.customer)}?`,
    });
    const rendered = await new Flujo(pipeline(ok("a", "order 9"), fn), {
      initialContextData: { customer: "ACME" },
    }).run("x");
    expect(ctxOf(rendered).pauseMessage).toBe("Approve order 9 for ACME?");
  });

  it("the answer is the input of the next step, and the steps after it run", async () => {
    const after = Step.fromCallable(async (x: string) => `${x}!`, { name: "shout" });
    const runner = new Flujo(pipeline(ask("h", "name?"), after));
    const paused = await runner.run("x");
    expect(paused.stepHistory).toEqual([]);
    const resumed = await runner.resume(paused, "ada");
    expect(resumed.output).toBe("ada!");
  });

  it("a HITL step is a complex step: never cached, and no agent is needed", async () => {
    const h = ask("h");
    expect(h).toBeInstanceOf(HumanInTheLoopStep);
    expect(h.isComplex).toBe(true);
    const runner = new Flujo(pipeline(ok("a", "q"), h));
    expect((await runner.run("x")).status).toBe("paused");
    expect((await runner.run("x")).status).toBe("paused");
  });

  it("stream ends with the paused result", async () => {
    const runner = new Flujo(pipeline(ok("a", "q"), ask("h")));
    const events: unknown[] = [];
    for await (const e of runner.stream("x")) events.push(e);
    const last = events[events.length - 1] as PipelineResult<PipelineContext>;
    expect(last).toBeInstanceOf(PipelineResult);
    expect(last.status).toBe("paused");
    expect(events).toHaveLength(2);
  });

  it("hooks: the pausing run fires post_run and no post_step/on_step_failure for the HITL step", async () => {
    const rec = recorder();
    const runner = new Flujo(pipeline(ok("a", "q"), ask("h")), { hooks: [rec.hook] });
    await runner.run("x");
    expect(rec.names).toEqual(["pre_run", "pre_step", "post_step", "pre_step", "post_run"]);
  });

  it("hooks on resume: post_step for the HITL step, then the remaining steps, then post_run (no second pre_run)", async () => {
    const seen: HookPayload[] = [];
    const runner = new Flujo(pipeline(ok("a", "q"), ask("h"), echo("b")), {
      hooks: [(p) => void seen.push(p)],
    });
    const paused = await runner.run("x");
    seen.length = 0;
    const resumed = await runner.resume(paused, "fine");
    expect(seen.map((p) => p.eventName)).toEqual(["post_step", "pre_step", "post_step", "post_run"]);
    expect(seen[0]).toMatchObject({ eventName: "post_step", stepResult: { name: "h", output: "fine" } });
    expect(seen[1]).toMatchObject({ eventName: "pre_step", stepInput: "fine" });
    expect(seen[3]).toMatchObject({ eventName: "post_run", pipelineResult: resumed });
  });
});

describe("human in the loop: resume (§2.13)", () => {
  it("refuses results that are not paused, have no context, or have no step left", async () => {
    const runner = new Flujo(pipeline(ok("a", "q"), ask("h")));
    const done = await new Flujo(ok("a", "q")).run("x");
    await expect(runner.resume(done, "hi")).rejects.toThrow(new ResumeError("Pipeline is not paused"));
    await expect(runner.resume(new PipelineResult(), "hi")).rejects.toThrow(
      new ResumeError("Cannot resume pipeline without context"),
    );
    // A paused result whose history already covers the whole pipeline.
    const paused = await runner.run("x");
    const full = new PipelineResult<PipelineContext>({
      stepHistory: [...paused.stepHistory, { ...paused.stepHistory[0], name: "h" }],
      finalPipelineContext: ctxOf(paused),
    });
    await expect(runner.resume(full, "hi")).rejects.toThrow(new ResumeError("No steps remaining to resume"));
  });

  it("two resumes of the same paused result: only the first one runs", async () => {
    const next = new StubAgent(["done"]);
    const runner = new Flujo(pipeline(ask("h"), new Step({ name: "next", agent: next })));
    const paused = await runner.run("x");
    const [first, second] = await Promise.allSettled([
      runner.resume(paused, "a"),
      runner.resume(paused, "b"),
    ]);
    expect(first).toMatchObject({ status: "fulfilled", value: { status: "completed" } });
    expect(second).toMatchObject({ status: "rejected", reason: new ResumeError("Pipeline is not paused") });
    expect(next.inputs).toEqual(["a"]);
  });

  it("inputSchema turns the answer into the schema's output", async () => {
    const schema = z.object({ approved: z.boolean(), amount: z.coerce.number() });
    const h = Step.humanInTheLoop({ name: "review", messageForUser: "Approve?", inputSchema: schema });
    const runner = new Flujo(pipeline(ok("a", "q"), h, echo("next")));
    const paused = await runner.run("x");
    const resumed = await runner.resume(paused, { approved: true, amount: "12.5" });
    expect(resumed.stepHistory[1].output).toEqual({ approved: true, amount: 12.5 });
    expect(resumed.output).toEqual({ approved: true, amount: 12.5 });
    expect(ctxOf(resumed).hitlHistory[0].humanResponse).toEqual({ approved: true, amount: 12.5 });
  });

  it("a bad answer throws a validation error naming the step and the issues, and the run stays resumable", async () => {
    const schema = z.object({ approved: z.boolean() });
    const h = Step.humanInTheLoop({ name: "review", messageForUser: "Approve?", inputSchema: schema });
    const runner = new Flujo(pipeline(ok("a", "q"), h));
    const paused = await runner.run("x");

    const err = await runner.resume(paused, { approved: "maybe" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HumanInputValidationError);
    const e = err as HumanInputValidationError;
    expect(e.stepName).toBe("review");
    expect(e.message).toContain("'review'");
    expect(e.message).toContain("approved");
    expect(e.issues.length).toBeGreaterThan(0);
    // Nothing was recorded.
    expect(paused.status).toBe("paused");
    expect(ctxOf(paused).hitlHistory).toEqual([]);
    expect(ctxOf(paused).pauseMessage).toBe("Approve?");

    const resumed = await runner.resume(paused, { approved: true });
    expect(resumed.status).toBe("completed");
    expect(ctxOf(resumed).hitlHistory).toHaveLength(1);
  });

  it("sinkTo, updatesContext and stepOutputs take the answer", async () => {
    const h = Step.humanInTheLoop({ name: "prefs", sinkTo: "answers.prefs", updatesContext: true });
    const runner = new Flujo(pipeline(ok("a", "q"), h));
    const resumed = await runner.resume(await runner.run("x"), { theme: "dark" });
    const ctx = ctxOf(resumed);
    expect(ctx.answers).toEqual({ prefs: { theme: "dark" } });
    expect(ctx.theme).toBe("dark");
    expect(ctx.stepOutputs.prefs).toEqual({ theme: "dark" });
  });

  it("an answer the context schema rejects (updatesContext) fails the HITL step and the run", async () => {
    const contextSchema = z.object({ count: z.number().default(0) }).passthrough();
    const h = Step.humanInTheLoop({ name: "h", updatesContext: true });
    const failures = recorder();
    const runner = new Flujo(pipeline(ok("a", "q"), h, echo("never")), {
      contextSchema,
      hooks: [failures.hook],
    });
    const paused = await runner.run("x");
    failures.names.length = 0;
    const resumed = await runner.resume(paused, { count: "lots" });
    expect(resumed.status).toBe("failed");
    expect(resumed.success).toBe(false);
    expect(resumed.stepHistory.map((r) => [r.name, r.success])).toEqual([
      ["a", true],
      ["h", false],
    ]);
    expect(resumed.stepHistory[1].feedback).toContain("Context validation failed");
    expect(failures.names).toEqual(["on_step_failure", "post_run"]);
  });

  it("several HITL steps pause once each; each resume continues after the step that paused", async () => {
    const b = new StubAgent(["b-out"]);
    const runner = new Flujo(
      pipeline(
        ok("a", "a-out"),
        ask("h1", "first?"),
        new Step({ name: "b", agent: b }),
        ask("h2", "second?"),
        echo("c"),
      ),
    );
    const p1 = await runner.run("x");
    expect(ctxOf(p1).pauseMessage).toBe("first?");
    const p2 = await runner.resume(p1, "one");
    expect(p2.status).toBe("paused");
    expect(p2.success).toBe(false);
    expect(ctxOf(p2).pauseMessage).toBe("second?");
    expect(ctxOf(p2).hitlData).toEqual({ lastHitlStep: "h2" });
    expect(p2.stepHistory.map((r) => r.name)).toEqual(["a", "h1", "b"]);
    expect(b.inputs).toEqual(["one"]);
    const done = await runner.resume(p2, "two");
    expect(done.status).toBe("completed");
    expect(done.output).toBe("two");
    // One entry per step: nothing counted twice across the two resumes.
    expect(done.stepHistory.map((r) => r.name)).toEqual(["a", "h1", "b", "h2", "c"]);
    expect(ctxOf(done).hitlHistory.map((h) => [h.messageToHuman, h.humanResponse])).toEqual([
      ["first?", "one"],
      ["second?", "two"],
    ]);
    expect(b.calls).toBe(1);
  });

  it("a step failing after the resume makes the run failed", async () => {
    const runner = new Flujo(
      pipeline(
        ask("h"),
        new Step({ name: "bad", agent: new StubAgent([new Error("nope")]), config: { maxRetries: 0 } }),
      ),
    );
    const resumed = await runner.resume(await runner.run("x"), "go");
    expect(resumed.status).toBe("failed");
    expect(resumed.success).toBe(false);
  });

  it("cost and tokens of the steps before the pause are kept across the resume", async () => {
    const runner = new Flujo(
      pipeline(
        new Step({ name: "a", agent: costly("q", 0.25, 10) }),
        ask("h"),
        new Step({ name: "b", agent: costly("r", 0.5, 5) }),
      ),
    );
    const paused = await runner.run("x");
    expect(paused.totalCostUsd).toBeCloseTo(0.25);
    expect(paused.totalTokens).toBe(10);
    const resumed = await runner.resume(paused, "ok");
    expect(resumed.totalCostUsd).toBeCloseTo(0.75);
    expect(resumed.totalTokens).toBe(15);
  });

  it("the budget counts what was spent before the pause", async () => {
    const runner = new Flujo(
      pipeline(
        new Step({ name: "a", agent: costly("q", 0.6, 1) }),
        ask("h"),
        new Step({ name: "b", agent: costly("r", 0.6, 1) }),
      ),
      { usageLimits: { totalCostUsdLimit: 1 } },
    );
    const paused = await runner.run("x");
    const err = await runner.resume(paused, "ok").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
    expect((err as UsageLimitExceededError).message).toBe("Cost limit of $1 exceeded");
    expect((err as UsageLimitExceededError).result?.totalCostUsd).toBeCloseTo(1.2);
  });

  it("a paused result survives a JSON round trip and can be resumed, even by another runner", async () => {
    const build = () =>
      new Flujo(
        pipeline(
          new Step({ name: "a", agent: costly({ draft: 1 }, 0.1, 3) }),
          ask("h", "Ship it?"),
          echo("b"),
        ),
      );
    const paused = await build().run("x");
    const text = JSON.stringify(paused);
    const parsed = JSON.parse(text) as unknown;
    expect(parsed).toMatchObject({ status: "paused", success: false, totalCostUsd: 0.1 });

    const restored = PipelineResult.fromJSON(parsed);
    expect(restored).toBeInstanceOf(PipelineResult);
    expect(restored.status).toBe("paused");
    expect(restored.stepHistory[0]).toMatchObject({ name: "a", output: { draft: 1 }, costUsd: 0.1 });
    const resumed = await build().resume(restored, "yes");
    expect(resumed.status).toBe("completed");
    expect(resumed.output).toBe("yes");
    expect(resumed.totalCostUsd).toBeCloseTo(0.1);
    expect(ctxOf(resumed).hitlHistory).toMatchObject([{ messageToHuman: "Ship it?", humanResponse: "yes" }]);

    // The JSON text itself is accepted too.
    const again = await build().resume(PipelineResult.fromJSON(text), "no");
    expect(again.output).toBe("no");
  });
});

describe("human in the loop: a paused result as MessagePack", () => {
  it("survives a msgpack round trip of its JSON form and can be resumed by another runner", async () => {
    const build = () => new Flujo(pipeline(ok("a", { draft: 1 }), ask("h", "Ship it?"), echo("b")));
    const paused = await build().run("x");
    const bytes = pack(JSON.parse(JSON.stringify(paused)));
    const restored = PipelineResult.fromJSON(unpack(bytes));
    expect(restored.status).toBe("paused");
    const resumed = await build().resume(restored, "yes");
    expect(resumed.status).toBe("completed");
    expect(resumed.output).toBe("yes");
    expect(resumed.stepHistory.map((r) => r.name)).toEqual(["a", "h", "b"]);
  });
});

describe("human in the loop: step names", () => {
  it("two different HITL steps with one name are refused when the runner is built", () => {
    expect(() => new Flujo(pipeline(ask("same"), echo("between"), ask("same")))).toThrow(
      /Two human-in-the-loop steps are named 'same'/,
    );
    const once = ask("once");
    expect(() => new Flujo(pipeline(once, echo("between"), once))).not.toThrow();
  });
});

describe("human in the loop inside a loop (§2.9, case 55)", () => {
  const makeLoop = (calls: { prep: number }, maxLoops = 5) =>
    Step.loopUntil({
      name: "review_loop",
      body: pipeline(
        Step.fromCallable(
          async (x: string, { context }: AgentRunOptions) => {
            calls.prep++;
            context.rounds = ((context.rounds as number | undefined) ?? 0) + 1;
            return { output: `draft(${x})`, costUsd: 0.1, tokenCounts: 2 };
          },
          { name: "prep" },
        ),
        Step.humanInTheLoop({ name: "ask", messageForUser: "Good enough?" }),
        Step.fromCallable(async (answer: string) => answer, { name: "decide" }),
      ),
      exitCondition: (out) => out === "done",
      maxLoops,
    });

  it("case 55: the paused context records the loop position; resume continues there and clears it", async () => {
    const calls = { prep: 0 };
    const runner = new Flujo(pipeline(makeLoop(calls), echo("after")));
    const paused = await runner.run("topic");
    expect(paused.status).toBe("paused");
    const ctx = ctxOf(paused);
    expect(ctx).toMatchObject({
      status: "paused",
      pauseMessage: "Good enough?",
      pausedStepInput: "draft(topic)",
      loopIterationIndex: 1,
      loopStepIndex: 2,
      loopLastOutput: "draft(topic)",
      loopResumeRequiresHitlOutput: true,
      loopPausedStepName: "ask",
    });
    // What the iteration did before the pause is kept.
    expect(ctx.rounds).toBe(1);
    expect(paused.totalCostUsd).toBeCloseTo(0.1);

    // "again" does not meet the exit condition: the next iteration asks again.
    const second = await runner.resume(paused, "again");
    expect(second.status).toBe("paused");
    expect(ctxOf(second)).toMatchObject({
      loopIterationIndex: 2,
      loopStepIndex: 2,
      loopLastOutput: "draft(again)",
    });
    expect(calls.prep).toBe(2);

    const done = await runner.resume(second, "done");
    expect(done.status).toBe("completed");
    expect(done.success).toBe(true);
    expect(calls.prep).toBe(2); // prep is not re-run on resume
    const loop = done.stepHistory[0];
    expect(loop).toMatchObject({ name: "review_loop", success: true, attempts: 2, output: "done" });
    expect(loop.metadata).toMatchObject({ exitReason: "condition", iterations: 2 });
    // Usage of the iterations done before each pause is kept in the loop's result.
    expect(loop.costUsd).toBeCloseTo(0.2);
    expect(loop.tokenCounts).toBe(6); // prep: 2 + 2; decide's string outputs: 1 + 1
    expect(done.totalCostUsd).toBeCloseTo(0.2);
    expect(done.output).toBe("done");
    const after = ctxOf(done);
    for (const field of [
      "loopIterationIndex",
      "loopStepIndex",
      "loopLastOutput",
      "loopResumeRequiresHitlOutput",
      "loopPausedStepName",
    ]) {
      expect(after[field]).toBeUndefined();
    }
    expect(after.rounds).toBe(2);
    expect(after.hitlHistory.map((h) => h.humanResponse)).toEqual(["again", "done"]);
    expect(after.stepOutputs.ask).toBe("done");
  });

  it("the HITL answer is validated against the nested step's inputSchema", async () => {
    const loop = Step.loopUntil({
      name: "l",
      body: pipeline(
        Step.humanInTheLoop({ name: "n", inputSchema: z.coerce.number() }),
        Step.fromCallable(async (n: number) => n * 2, { name: "double" }),
      ),
      exitCondition: (out) => (out as number) > 10,
    });
    const runner = new Flujo(loop);
    const paused = await runner.run(0);
    await expect(runner.resume(paused, "abc")).rejects.toBeInstanceOf(HumanInputValidationError);
    const next = await runner.resume(paused, "3");
    expect(next.status).toBe("paused");
    const done = await runner.resume(next, "7");
    expect(done.output).toBe(14);
  });

  it("a paused loop survives a JSON round trip", async () => {
    const calls = { prep: 0 };
    const paused = await new Flujo(makeLoop(calls)).run("t");
    const restored = PipelineResult.fromJSON(JSON.parse(JSON.stringify(paused)));
    const done = await new Flujo(makeLoop(calls)).resume(restored, "done");
    expect(done.status).toBe("completed");
    expect(done.stepHistory[0]).toMatchObject({ attempts: 1, output: "done" });
    expect(done.stepHistory[0].costUsd).toBeCloseTo(0.1);
    expect(calls.prep).toBe(1);
  });

  it("the budget counts loop work done before the pause", async () => {
    const calls = { prep: 0 };
    const runner = new Flujo(makeLoop(calls), { usageLimits: { totalCostUsdLimit: 0.15 } });
    const paused = await runner.run("t");
    const err = await runner.resume(paused, "again").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
  });

  it("a HITL step in a loop nested in a loop resumes at both levels", async () => {
    const seen: unknown[] = [];
    const inner = Step.loopUntil({
      name: "inner",
      body: pipeline(
        Step.humanInTheLoop({ name: "q", messageForUser: "inner?" }),
        Step.fromCallable(
          async (x: unknown) => {
            seen.push(x);
            return x;
          },
          { name: "record" },
        ),
      ),
      exitCondition: (out) => out === "stop",
      maxLoops: 3,
    });
    const outer = Step.loopUntil({
      name: "outer",
      body: pipeline(echo("before"), inner),
      exitCondition: () => true,
    });
    const bump = Step.fromCallable(
      async (x: unknown, { context }: AgentRunOptions) => {
        context.outerRounds = ((context.outerRounds as number | undefined) ?? 0) + 1;
        return x;
      },
      { name: "bump" },
    );
    const runner = new Flujo(
      Step.loopUntil({ name: "outer2", body: pipeline(outer, bump), exitCondition: () => true }),
    );
    let result = await runner.run("go");
    const answers = ["a", "stop"];
    for (const answer of answers) {
      expect(result.status).toBe("paused");
      expect(
        (ctxOf(result).hitlData.loopStack as unknown[]).map((e) => (e as { loop: string }).loop),
      ).toEqual(["inner", "outer", "outer2"]);
      result = await runner.resume(result, answer);
    }
    expect(result.status).toBe("completed");
    expect(seen).toEqual(["a", "stop"]);
    expect(result.output).toBe("stop");
    expect(ctxOf(result).outerRounds).toBe(1);
  });
});

describe("human in the loop inside a conditional branch (§2.10 item 7)", () => {
  it("the pause propagates; resume re-runs the conditional with the answer as its input, and the HITL step takes the answer", async () => {
    const prepInputs: unknown[] = [];
    const prep = Step.fromCallable(
      async (x: unknown, { context }: AgentRunOptions) => {
        prepInputs.push(x);
        context.prepared = true;
        return `prepared(${String(x)})`;
      },
      { name: "prep" },
    );
    const route = Step.branchOn({
      name: "route",
      condition: (_data, ctx) => ctx.mode as string,
      branches: {
        review: pipeline(
          prep,
          Step.humanInTheLoop({
            name: "check",
            messageForUser: "Approve?",
            inputSchema: z.enum(["yes", "no"]),
          }),
          Step.fromCallable(async (answer: string) => `approved:${answer}`, { name: "finish" }),
        ),
        auto: echo("auto"),
      },
    });
    const runner = new Flujo(pipeline(ok("a", "doc"), route, echo("after")), {
      initialContextData: { mode: "review" },
    });
    const paused = await runner.run("x");
    expect(paused.status).toBe("paused");
    expect(paused.stepHistory.map((r) => r.name)).toEqual(["a"]);
    expect(ctxOf(paused)).toMatchObject({
      pauseMessage: "Approve?",
      pausedStepInput: "prepared(doc)",
      hitlData: { lastHitlStep: "check" },
      prepared: true,
    });

    await expect(runner.resume(paused, "maybe")).rejects.toThrow(/step 'check'/);
    const resumed = await runner.resume(paused, "yes");
    expect(resumed.status).toBe("completed");
    expect(resumed.stepHistory.map((r) => [r.name, r.output])).toEqual([
      ["a", "doc"],
      ["route", "approved:yes"],
      ["after", "approved:yes"],
    ]);
    // As in Flujo, the conditional runs again from its start, with the answer as its input.
    expect(prepInputs).toEqual(["doc", "yes"]);
    expect(ctxOf(resumed).stepOutputs.check).toBe("yes");
    expect(ctxOf(resumed).hitlHistory).toMatchObject([{ messageToHuman: "Approve?", humanResponse: "yes" }]);
  });

  it("a second HITL step later in the same branch pauses again after the first one took its answer", async () => {
    const route = Step.branchOn({
      name: "route",
      condition: () => "x",
      branches: { x: pipeline(ask("first", "1?"), echo("mid"), ask("second", "2?")) },
    });
    const runner = new Flujo(pipeline(route, echo("end")));
    const p1 = await runner.run("go");
    expect(ctxOf(p1).pauseMessage).toBe("1?");
    const p2 = await runner.resume(p1, "one");
    expect(p2.status).toBe("paused");
    expect(ctxOf(p2).pauseMessage).toBe("2?");
    expect(ctxOf(p2).hitlData).toMatchObject({ lastHitlStep: "second" });
    // The branch runs again from its start: the first HITL step gets its earlier answer back, the second
    // one takes the new answer. (Through a JSON round trip: the earlier answers are in the context.)
    const done = await runner.resume(PipelineResult.fromJSON(JSON.stringify(p2)), "two");
    expect(done.status).toBe("completed");
    expect(done.stepHistory.map((r) => [r.name, r.output])).toEqual([
      ["route", "two"],
      ["end", "two"],
    ]);
    expect(ctxOf(done).hitlHistory.map((h) => [h.messageToHuman, h.humanResponse])).toEqual([
      ["1?", "one"],
      ["2?", "two"],
    ]);
    expect(ctxOf(done).stepOutputs).toMatchObject({ first: "one", mid: "one", second: "two" });
  });
});

describe("human in the loop inside a map", () => {
  it("pauses once per item; earlier items get their answers back when the map runs again", async () => {
    const map = Step.mapOver({
      name: "per_item",
      iterableInput: "items",
      body: pipeline(
        Step.humanInTheLoop({ name: "rate", messageForUser: (item) => `Rate ${String(item)}?` }),
        Step.fromCallable(async (score: string) => Number(score), { name: "to_number" }),
      ),
    });
    const runner = new Flujo(map, { initialContextData: { items: ["x", "y"] } });
    const p1 = await runner.run(null);
    expect(ctxOf(p1).pauseMessage).toBe("Rate x?");
    const p2 = await runner.resume(p1, "3");
    expect(p2.status).toBe("paused");
    expect(ctxOf(p2).pauseMessage).toBe("Rate y?");
    const done = await runner.resume(p2, "5");
    expect(done.status).toBe("completed");
    expect(done.output).toEqual([3, 5]);
    expect(ctxOf(done).hitlHistory.map((h) => h.humanResponse)).toEqual(["3", "5"]);
  });
});
