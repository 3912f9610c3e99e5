import { describe, expect, it } from "vitest";
import type { StepOptions } from "../../src/index.js";
import {
  ConfigurationError,
  ExecutorCore,
  Flujo,
  InMemoryCache,
  Pipeline,
  pipeline,
  Step,
} from "../../src/index.js";

const agent = { run: async (x: unknown) => x };

/** Builds a step from options the type system would reject, as a JavaScript caller could. */
const build = (options: unknown) => () => new Step(options as StepOptions);

describe("bad input gets a clear error that names the step and the field", () => {
  it("non-function agents", () => {
    expect(build({ name: "s", agent: 42 })).toThrow(ConfigurationError);
    expect(build({ name: "s", agent: 42 })).toThrow(
      "Step 's': agent must be a function or an object with a run(input, options) method, got 42",
    );
    expect(build({ name: "s", agent: { run: "nope" } })).toThrow("Step 's': agent must be");
  });

  it("missing or empty names", () => {
    expect(build({ agent })).toThrow("Step name must be a non-empty string, got undefined");
    expect(build({ name: "", agent })).toThrow("Step name must be a non-empty string");
    expect(() => Step.fromCallable(async (x: unknown) => x)).toThrow(
      "the function is anonymous, so pass { name }",
    );
  });

  it("invalid config values", () => {
    expect(build({ name: "s", agent, config: { maxRetries: -1 } })).toThrow(
      "Step 's': config.maxRetries must be a non-negative integer, got -1",
    );
    expect(build({ name: "s", agent, config: { maxRetries: 1.5 } })).toThrow(
      "config.maxRetries must be a non-negative integer",
    );
    expect(build({ name: "s", agent, config: { timeoutS: Number.NaN } })).toThrow(
      "Step 's': config.timeoutS must be a positive finite number of seconds, got NaN",
    );
    expect(build({ name: "s", agent, config: { timeoutS: 0 } })).toThrow("config.timeoutS");
    expect(build({ name: "s", agent, config: { temperature: "hot" } })).toThrow(
      "config.temperature must be a finite non-negative number",
    );
    expect(build({ name: "s", agent, config: { maxRetry: 2 } })).toThrow(
      "Step 's': unknown config field 'maxRetry'",
    );
    expect(() => Step.fromCallable(async (x: unknown) => x, { name: "c", maxRetries: -2 })).toThrow(
      "Step 'c': config.maxRetries",
    );
  });

  it("plugins, validators, processors and failure handlers of the wrong shape", () => {
    expect(build({ name: "s", agent, plugins: [{}] })).toThrow(
      "Step 's': plugins[0] must be an object with a validate(data, options) method",
    );
    expect(build({ name: "s", agent, plugins: [[{ validate: () => ({ success: true }) }, "high"]] })).toThrow(
      "plugins[0] priority must be a finite number",
    );
    expect(build({ name: "s", agent, validators: [3] })).toThrow(
      "Step 's': validators[0] must be a function or an object with a validate() method",
    );
    expect(build({ name: "s", agent, processors: { outputProcessors: [null] } })).toThrow(
      "processors.outputProcessors[0]",
    );
    expect(build({ name: "s", agent, failureHandlers: ["x"] })).toThrow("failureHandlers must be functions");
  });

  it("fallbacks, sinkTo paths and updatesContext", () => {
    expect(build({ name: "s", agent, fallbackStep: { name: "x" } })).toThrow(
      "Step 's': fallbackStep must be a Step",
    );
    expect(build({ name: "s", agent, fallbackStep: new Step({ name: "s", agent }) })).toThrow(
      "fallbackStep has the same name as the step",
    );
    expect(build({ name: "s", agent, sinkTo: "a..b" })).toThrow("Step 's': sinkTo must be a dotted path");
    expect(build({ name: "s", agent, sinkTo: "__proto__.x" })).toThrow("sinkTo must be a dotted path");
    expect(build({ name: "s", agent, updatesContext: "yes" })).toThrow(
      "Step 's': updatesContext must be a boolean",
    );
  });

  it("pipelines and runners of the wrong shape", () => {
    expect(() => pipeline({} as Step)).toThrow("pipeline(): argument 0 must be a Step or a Pipeline");
    expect(() => new Pipeline([1 as unknown as Step])).toThrow("Pipeline step 0 must be a Step");
    expect(() => new Flujo({} as Pipeline)).toThrow("new Flujo() needs a Pipeline or a Step");
    expect(() => new Flujo(new Step({ name: "s", agent }), { contextSchema: {} as never })).toThrow(
      "contextSchema must be a Standard Schema",
    );
    expect(() => new InMemoryCache({ maxSize: 0 })).toThrow("maxSize must be a positive integer");
    expect(() => Step.cached({} as Step)).toThrow("Step.cached needs a Step");
  });

  it("ExecutorCore.execute without a step", async () => {
    await expect(new ExecutorCore().execute(undefined as unknown as Step, 1)).rejects.toThrow(
      "ExecutorCore.execute needs a Step",
    );
  });

  it("steps and pipelines are immutable once built", () => {
    const s = new Step({ name: "s", agent });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.config)).toBe(true);
    expect(() => {
      (s as { name: string }).name = "t";
    }).toThrow(TypeError);
    const p = pipeline(s);
    expect(Object.isFrozen(p.steps)).toBe(true);
    const s2 = s.with({ name: "t" });
    expect(s2.name).toBe("t");
    expect(s.name).toBe("s");
  });

  it("steps and pipelines are not thenables, so they can be awaited and returned from async functions", async () => {
    const s = new Step({ name: "s", agent });
    const make = async () => s;
    expect(await make()).toBe(s);
    const p = pipeline(s);
    expect(await Promise.resolve(p)).toBe(p);
  });

  it("initial context data must be plain data", async () => {
    const runner = new Flujo(new Step({ name: "s", agent }));
    await expect(runner.run(1, { initialContextData: { fn: () => 1 } })).rejects.toThrow(
      "initialContextData must be plain data",
    );
  });
});
