import { describe, expect, it } from "vitest";
import type { Policy, StepOptions } from "../../src/index.js";
import { ExecutorCore, Flujo, Step, stepResult } from "../../src/index.js";

class ShoutStep extends Step<string, string> {
  constructor(options: StepOptions<string, string>) {
    super(options);
    if (new.target === ShoutStep) Object.freeze(this);
  }
}
class LouderStep extends ShoutStep {}

const shoutPolicy: Policy = async (_frame, step, data) =>
  stepResult(step.name, { output: `${String(data).toUpperCase()}!`, success: true, attempts: 1 });

describe("policy registry", () => {
  it("a custom step kind runs through its registered policy, and subclasses inherit it", async () => {
    const core = new ExecutorCore();
    core.registerPolicy(ShoutStep, shoutPolicy);
    expect((await core.execute(new ShoutStep({ name: "s" }), "hey")).output).toBe("HEY!");
    expect((await core.execute(new LouderStep({ name: "l" }), "yo")).output).toBe("YO!");
  });

  it("an unregistered kind falls back to the agent policy", async () => {
    const core = new ExecutorCore();
    const sr = await core.execute(new LouderStep({ name: "l", agent: async (x: string) => `${x}?` }), "hm");
    expect(sr.output).toBe("hm?");
  });

  it("the runner uses the executor's registry, including a shared executor", async () => {
    const core = new ExecutorCore();
    core.registerPolicy(ShoutStep, shoutPolicy);
    const result = await new Flujo(new ShoutStep({ name: "s" }), { executor: core }).run("abc");
    expect(result.output).toBe("ABC!");
  });
});
