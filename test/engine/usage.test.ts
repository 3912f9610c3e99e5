import { describe, expect, it } from "vitest";
import { ExecutorCore, Flujo, pipeline, Step, UsageLimitExceededError } from "../../src/index.js";
import { costly } from "../support/agents.js";

const spend = (name: string, cost: number, tokens: number) =>
  new Step({ name, agent: costly(name, cost, tokens) });

async function breach(runner: Flujo): Promise<UsageLimitExceededError> {
  const err = await runner.run("go").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UsageLimitExceededError);
  return err as UsageLimitExceededError;
}

describe("usage limits (cases 24-26, 28)", () => {
  it("case 24: one $0.50 step under a $0.25 limit raises with the partial result", async () => {
    const err = await breach(new Flujo(spend("s", 0.5, 1), { usageLimits: { totalCostUsdLimit: 0.25 } }));
    expect(err.message).toBe("Cost limit of $0.25 exceeded");
    expect(err.result?.stepHistory).toHaveLength(1);
    expect(err.result?.totalCostUsd).toBeCloseTo(0.5);
  });

  it("case 25: three $0.50 steps under $1.20 raise on step 3, with all three recorded as successful", async () => {
    const p = pipeline(spend("a", 0.5, 1), spend("b", 0.5, 1), spend("c", 0.5, 1));
    const err = await breach(new Flujo(p, { usageLimits: { totalCostUsdLimit: 1.2 } }));
    expect(err.message).toBe("Cost limit of $1.2 exceeded");
    expect(err.result?.stepHistory.map((r) => [r.name, r.success])).toEqual([
      ["a", true],
      ["b", true],
      ["c", true],
    ]);
    expect(err.result?.totalCostUsd).toBeCloseTo(1.5);
    expect(err.result?.status).toBe("failed");
  });

  it("case 26: a token limit breach uses Flujo's token message", async () => {
    const p = pipeline(spend("a", 0, 100), spend("b", 0, 100), spend("c", 0, 100));
    const err = await breach(new Flujo(p, { usageLimits: { totalTokensLimit: 250 } }));
    expect(err.message).toBe("Token limit of 250 exceeded");
    expect(err.result?.totalTokens).toBe(300);
  });

  it("when both limits are exceeded the cost message wins; an integer limit prints without decimals", async () => {
    const err = await breach(
      new Flujo(spend("a", 2, 500), { usageLimits: { totalCostUsdLimit: 1.0, totalTokensLimit: 10 } }),
    );
    expect(err.message).toBe("Cost limit of $1 exceeded");
  });

  it("case 28: without limits three steps spending 0.25 / 60 tokens all succeed", async () => {
    const p = pipeline(spend("a", 0.25, 60), spend("b", 0.25, 60), spend("c", 0.25, 60));
    const result = await new Flujo(p).run("go");
    expect(result.success).toBe(true);
    expect(result.totalCostUsd).toBeCloseTo(0.75);
    expect(result.totalTokens).toBe(180);
  });

  it("a reservation that does not fit stops the step before its agent runs", async () => {
    const agent = costly("x", 0.01, 1);
    const step = new Step({ name: "big", agent, config: { expectedCostUsd: 5 } });
    const err = await breach(new Flujo(step, { usageLimits: { totalCostUsdLimit: 1 } }));
    expect(agent.calls).toBe(0);
    expect(err.result?.stepHistory[0]).toMatchObject({
      success: false,
      attempts: 0,
      metadata: { exitReason: "quota_reservation_denied" },
    });
  });

  it("ExecutorCore.execute enforces limits passed directly", async () => {
    const err = await new ExecutorCore()
      .execute(spend("s", 3, 1), 0, { limits: { totalCostUsdLimit: 2 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
  });

  it("a string output counts as one token, a usage() object as input + output tokens", async () => {
    const core = new ExecutorCore();
    expect(
      (
        await core.execute(
          Step.fromCallable(async () => "text", { name: "str" }),
          0,
        )
      ).tokenCounts,
    ).toBe(1);
    const withUsage = Step.fromCallable(
      async () => ({ output: "x", usage: () => ({ inputTokens: 3, outputTokens: 4, costUsd: 0.07 }) }),
      {
        name: "u",
      },
    );
    const sr = await core.execute(withUsage, 0);
    expect(sr.tokenCounts).toBe(7);
    expect(sr.costUsd).toBeCloseTo(0.07);
    expect(sr.output).toBe("x");
  });

  it("an agent reporting a NaN cost fails the attempt instead of corrupting the budget", async () => {
    const sr = await new ExecutorCore().execute(
      Step.fromCallable(async () => ({ output: 1, costUsd: Number.NaN }), { name: "nan", maxRetries: 0 }),
      0,
    );
    expect(sr.success).toBe(false);
    expect(sr.feedback).toContain("costUsd=NaN");
  });

  it("bad usage limits are rejected when the runner is built", () => {
    expect(() => new Flujo(spend("a", 0, 0), { usageLimits: { totalCostUsdLimit: -1 } })).toThrow(
      "usageLimits.totalCostUsdLimit must be a non-negative number",
    );
  });
});
