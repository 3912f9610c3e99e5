import { describe, expect, it } from "vitest";
import { DynamicParallelRouterStep } from "../../src/dsl/router.js";
import {
  type AgentRunOptions,
  ConfigurationError,
  Flujo,
  MergeStrategy,
  Step,
  type StepResult,
} from "../../src/index.js";
import { costly, StubAgent } from "../support/agents.js";

type Ctx = Record<string, unknown>;

function writer(name: string, key: string): Step {
  return Step.fromCallable(
    async (input: unknown, o: AgentRunOptions) => {
      (o.context as Ctx)[key] = `${name}:${input}`;
      return `${name}:${input}`;
    },
    { name },
  );
}

const branches = () => ({
  billing: writer("billing", "billed"),
  support: writer("support", "supported"),
  sales: writer("sales", "sold"),
});

describe("dynamic parallel router (§2.14)", () => {
  it("runs only the branches the router picks, drops unknown names and adds the router's usage", async () => {
    const router = new StubAgent([
      { output: ["support", "nope", "billing", "support"], costUsd: 0.1, tokenCounts: 3 },
    ]);
    const step = Step.dynamicParallelBranch({ name: "route", routerAgent: router, branches: branches() });
    const result = await new Flujo(step).run("q");
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(true);
    expect(sr.output).toEqual({ support: "support:q", billing: "billing:q" });
    expect(Object.keys(sr.output as Ctx)).toEqual(["support", "billing"]);
    expect(sr.costUsd).toBeCloseTo(0.1);
    // 3 router tokens, and a string output counts as one token per branch (§2.12).
    expect(sr.tokenCounts).toBe(5);
    expect(sr.metadata.executedBranches).toEqual(["support", "nope", "billing", "support"]);
    expect(sr.stepHistory.map((r) => r.name)).toEqual(["route_support", "route_billing"]);
    expect(router.inputs).toEqual(["q"]);
    // The builder merges with CONTEXT_UPDATE; the router agent ran as a step named "{name}_router".
    const ctx = result.finalPipelineContext!;
    expect([ctx.billed, ctx.supported, ctx.sold]).toEqual(["billing:q", "support:q", undefined]);
    expect((ctx.stepOutputs as Ctx).route_router).toEqual(["support", "nope", "billing", "support"]);
  });

  it("a single name as a string is one branch", async () => {
    const step = Step.dynamicParallelBranch({
      name: "route",
      routerAgent: async () => "sales",
      branches: branches(),
    });
    expect((await new Flujo(step).run("q")).stepHistory[0].output).toEqual({ sales: "sales:q" });
  });

  it("an empty or all-unknown selection succeeds with an empty output", async () => {
    for (const pick of [[], ["ghost"]]) {
      const step = Step.dynamicParallelBranch({
        name: "route",
        routerAgent: new StubAgent([{ output: pick, costUsd: 0.2, tokenCounts: 1 }]),
        branches: branches(),
      });
      const sr = (await new Flujo(step).run("q")).stepHistory[0];
      expect(sr).toMatchObject({ success: true, output: {}, costUsd: 0.2, tokenCounts: 1 });
    }
  });

  it("a router output that is not a list of names fails the step", async () => {
    for (const [out, type] of [
      [42, "number"],
      [{ pick: "sales" }, "Object"],
      [null, "null"],
    ] as const) {
      const step = Step.dynamicParallelBranch({
        name: "route",
        routerAgent: async () => out,
        branches: branches(),
      });
      const result = await new Flujo(step).run("q");
      expect(result.success).toBe(false);
      expect(result.stepHistory[0].feedback).toBe(
        `Router agent must return a list of branch names, got ${type}`,
      );
    }
  });

  it("a failing router agent fails the step with its feedback", async () => {
    const step = Step.dynamicParallelBranch({
      name: "route",
      routerAgent: new StubAgent([new Error("no idea")]),
      branches: branches(),
    });
    const sr = (await new Flujo(step).run("q")).stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.name).toBe("route");
    expect(sr.feedback).toBe("Router agent failed: Agent execution failed with Error: no idea");
  });

  it("constructed directly the router does not merge branch contexts (NO_MERGE), as in Flujo", async () => {
    const direct = new DynamicParallelRouterStep({
      name: "route",
      routerAgent: async () => ["sales"],
      branches: branches(),
    });
    expect(direct.mergeStrategy).toBe(MergeStrategy.NO_MERGE);
    const result = await new Flujo(direct).run("q");
    expect(result.stepHistory[0].output).toEqual({ sales: "sales:q" });
    expect(result.finalPipelineContext?.sold).toBeUndefined();
  });

  it("uses the router's failure setting and the parallel feedback", async () => {
    const step = Step.dynamicParallelBranch({
      name: "route",
      routerAgent: async () => ["ok", "bad"],
      branches: {
        ok: writer("ok", "x"),
        bad: new Step({ name: "bad", agent: new StubAgent([new Error("down")]), config: { maxRetries: 0 } }),
      },
      onBranchFailure: "ignore",
    });
    const sr = (await new Flujo(step).run("q")).stepHistory[0];
    expect(sr.success).toBe(true);
    expect(sr.feedback).toBe("Parallel step completed with 1 branch failures (ignored)");
    expect(((sr.output as Ctx).bad as StepResult).success).toBe(false);
  });

  it("fieldMapping entries of branches that were not picked are ignored", async () => {
    const step = Step.dynamicParallelBranch({
      name: "route",
      routerAgent: async () => ["sales"],
      branches: branches(),
      fieldMapping: { sales: ["sold"], billing: ["billed"] },
    });
    const ctx = (await new Flujo(step).run("q")).finalPipelineContext!;
    expect(ctx.sold).toBe("sales:q");
  });

  it("cost of the router and the branches adds up", async () => {
    const step = Step.dynamicParallelBranch({
      name: "route",
      routerAgent: new StubAgent([{ output: ["a", "b"], costUsd: 0.05, tokenCounts: 1 }]),
      branches: {
        a: new Step({ name: "a", agent: costly("a", 0.1, 2) }),
        b: new Step({ name: "b", agent: costly("b", 0.2, 4) }),
      },
    });
    const result = await new Flujo(step).run("q");
    expect(result.totalCostUsd).toBeCloseTo(0.35);
    expect(result.totalTokens).toBe(7);
  });

  it("validates its options", () => {
    const agent = async () => [];
    expect(() => Step.dynamicParallelBranch({ name: "r", routerAgent: agent, branches: {} })).toThrow(
      "DynamicParallelRouterStep 'r': 'branches' dictionary cannot be empty.",
    );
    expect(() =>
      Step.dynamicParallelBranch({ name: "r", routerAgent: "nope" as never, branches: branches() }),
    ).toThrow(ConfigurationError);
    expect(() =>
      Step.dynamicParallelBranch({
        name: "r",
        routerAgent: agent,
        branches: branches(),
        mergeStrategy: "bogus" as never,
      }),
    ).toThrow("mergeStrategy must be");
    const step = Step.dynamicParallelBranch({ name: "r", routerAgent: agent, branches: branches() });
    expect(step.mergeStrategy).toBe(MergeStrategy.CONTEXT_UPDATE);
    expect(step.routerStep.name).toBe("r_router");
    expect(Object.isFrozen(step)).toBe(true);
  });
});
