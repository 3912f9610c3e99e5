/** The YAML loader in-process: every kind builds with the DSL and runs; errors carry file, line and key. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BlueprintError,
  BlueprintImportError,
  Flujo,
  HumanInputValidationError,
  loadPipelineFromString,
  loadPipelineYaml,
} from "../../src/index.js";

const SRC = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flujo-yaml-"));
  writeFileSync(
    join(dir, "steps.js"),
    `
import { Step } from ${JSON.stringify(SRC)};
export const inc = (x) => Number(x) + 1;
export const double = (x) => x * 2;
export const echo = (x) => x;
export const words = (text) => ({ words: String(text).split(" ") });
export const shout = (w) => String(w).toUpperCase();
export const pick = (_input) => ["a", "c"];
export const setA = () => ({ a: 1 });
export const setC = () => ({ c: 3 });
export const fail = () => { throw new Error("nope"); };
export const isBig = (out) => out > 10;
export const bump = (_x, { context }) => ({ n: (context.n ?? 0) + 1 });
export const kindOf = (data) => (typeof data === "number" ? "number" : "other");
export const prefix = (params) => (x) => params.prefix + x;
export const agentObject = { run: async (x) => ({ output: "agent:" + x, costUsd: 0.5, tokenCounts: 7 }) };
export const exportedStep = Step.fromCallable((x) => "step:" + x, { name: "original" });
export const shortText = { validate: (out) => ({ isValid: String(out).length < 5, feedback: "too long" }) };
let calls = 0;
export const counted = (x) => { calls++; return x + ":" + calls; };
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (yaml: string) => loadPipelineFromString(yaml, { baseDir: dir, fileName: "p.yaml" });
async function run(yaml: string, input: unknown, initialContextData?: Record<string, unknown>) {
  const { pipeline } = await load(yaml);
  return new Flujo(pipeline, { initialContextData }).run(input);
}

describe("loading and running each kind", () => {
  it("step: uses, input templates, config, fallback, sink_to, updates_context, validators, agent params", async () => {
    const result = await run(
      `
version: "0.1"
name: seq
steps:
  - name: words
    uses: ./steps.js#words
    updates_context: true
  - name: first
    uses: ./steps.js#echo
    input: "{{ context.words | join('-') }}"
    sink_to: joined
  - name: failing
    uses: ./steps.js#fail
    config: { max_retries: 0 }
    fallback:
      name: recovered
      agent: { id: ./steps.js#prefix, params: { prefix: "fb:" } }
  - name: object_agent
    uses: ./steps.js#agentObject
  - name: validated
    uses: ./steps.js#echo
    validators: [./steps.js#shortText]
`,
      "a b c",
    );
    expect(result.stepHistory.map((s) => [s.name, s.success, s.output])).toEqual([
      ["words", true, { words: ["a", "b", "c"] }],
      ["first", true, "a-b-c"],
      ["recovered", true, "fb:a-b-c"],
      ["object_agent", true, "agent:fb:a-b-c"],
      ["validated", false, "agent:fb:a-b-c"],
    ]);
    expect(result.finalPipelineContext).toMatchObject({ words: ["a", "b", "c"], joined: "a-b-c" });
    expect(result.totalCostUsd).toBe(0.5);
  });

  it("step: an exported Step is used with the YAML's name and settings", async () => {
    const result = await run(
      "steps:\n  - name: renamed\n    uses: ./steps.js#exportedStep\n    input: 'x{{ previous_step }}'\n",
      "1",
    );
    expect(result.stepHistory[0]).toMatchObject({ name: "renamed", output: "step:x1" });
  });

  it("parallel: branches, merge_strategy, reduce presets", async () => {
    const result = await run(
      `
steps:
  - kind: parallel
    name: both
    merge_strategy: context_update
    reduce: keys
    branches:
      left: [{ name: a, uses: ./steps.js#setA, updates_context: true }]
      right: { name: c, uses: ./steps.js#setC, updates_context: true }
`,
      null,
    );
    expect(result.output).toEqual(["left", "right"]);
    expect(result.finalPipelineContext).toMatchObject({ a: 1, c: 3 });
  });

  it("conditional: condition_expression with boolean keys, condition from a module, default_branch", async () => {
    const yaml = `
steps:
  - kind: conditional
    name: big
    condition_expression: "previous_step > 10"
    branches:
      true: [{ name: dbl, uses: ./steps.js#double }]
      false: [{ name: inc, uses: ./steps.js#inc }]
  - kind: conditional
    name: by_type
    condition: ./steps.js#kindOf
    branches:
      string: [{ name: s, uses: ./steps.js#echo }]
    default_branch:
      - name: fallback_branch
        uses: ./steps.js#inc
`;
    expect((await run(yaml, 20)).output).toBe(41);
    expect((await run(yaml, 2)).output).toBe(4);
  });

  it("loop: exit_expression, max_loops, output_template; exit_condition from a module", async () => {
    const result = await run(
      `
steps:
  - kind: loop
    name: grow
    loop:
      body: [{ name: inc, uses: ./steps.js#double }]
      max_loops: 10
      exit_expression: "previous_step >= 16"
      output_template: "reached {{ previous_step }}"
  - kind: loop
    name: grow2
    loop:
      body: [{ name: inc2, uses: ./steps.js#inc }]
      iteration_input_mapper: ./steps.js#echo
      exit_condition: ./steps.js#isBig
`,
      1,
    );
    expect(result.stepHistory[0]?.output).toBe("reached 16");
    expect(result.success).toBe(false); // "reached 16" + 1 is NaN, never big: grow2 runs out of loops
    const ok = await run(
      "steps:\n  - kind: loop\n    name: l\n    loop:\n      body: [{ name: i, uses: ./steps.js#inc }]\n      exit_condition: ./steps.js#isBig\n      max_loops: 20\n",
      5,
    );
    expect(ok.output).toBe(11);
  });

  it("map: iterable_input from the context; {{ this }} is the item", async () => {
    const result = await run(
      `
steps:
  - kind: map
    name: each
    map:
      iterable_input: context.items
      body:
        - name: shout
          uses: ./steps.js#shout
          input: "<{{ this }}>"
`,
      null,
      { items: ["a", "b"] },
    );
    expect(result.output).toEqual(["<A>", "<B>"]);
  });

  it("dynamic_router: the router agent picks branches", async () => {
    const result = await run(
      `
steps:
  - kind: dynamic_router
    name: route
    router:
      router_agent: ./steps.js#pick
      branches:
        a: [{ name: a, uses: ./steps.js#setA, updates_context: true }]
        b: [{ name: b, uses: ./steps.js#fail }]
        c: [{ name: c, uses: ./steps.js#setC, updates_context: true }]
`,
      null,
    );
    expect(result.success).toBe(true);
    expect(result.finalPipelineContext).toMatchObject({ a: 1, c: 3 });
  });

  it("hitl: message template, input_schema (JSON Schema) checked on resume, sink_to", async () => {
    const { pipeline } = await load(`
steps:
  - kind: hitl
    name: ask
    message: "Approve {{ previous_step }}?"
    input_schema: { type: object, properties: { ok: { type: boolean } }, required: [ok] }
    sink_to: decision
  - name: after
    uses: ./steps.js#echo
`);
    const runner = new Flujo(pipeline);
    const paused = await runner.run("v1");
    expect(paused.status).toBe("paused");
    expect(paused.finalPipelineContext?.pauseMessage).toBe("Approve v1?");
    await expect(runner.resume(paused, { ok: "maybe" })).rejects.toBeInstanceOf(HumanInputValidationError);
    const done = await runner.resume(paused, { ok: true });
    expect(done.output).toEqual({ ok: true });
    expect(done.finalPipelineContext?.decision).toEqual({ ok: true });
  });

  it("cache: wrapped_step results are reused", async () => {
    const { pipeline } = await load(
      "steps:\n  - kind: cache\n    name: c\n    wrapped_step: { name: counted, uses: ./steps.js#counted }\n",
    );
    const runner = new Flujo(pipeline);
    const first = await runner.run("x");
    const second = await runner.run("x");
    expect(second.output).toBe(first.output);
    expect(second.stepHistory[0]?.metadata.cacheHit).toBe(true);
  });

  it("StateMachine: states, transitions with when expressions, end states", async () => {
    const result = await run(
      `
steps:
  - kind: StateMachine
    name: sm
    start_state: grow
    end_states: [done]
    states:
      grow: [{ name: bump, uses: ./steps.js#bump, updates_context: true }]
    transitions:
      - { from: grow, on: success, to: done, when: "context.n >= 3" }
      - { from: grow, on: success, to: grow }
`,
      1,
    );
    // As in Flujo, states share the context (each state gets the machine's input), and the machine
    // step has no output of its own.
    expect(result.success).toBe(true);
    expect(result.finalPipelineContext?.n).toBe(3);
  });

  it("loads from a file; the name defaults to the file's", async () => {
    const file = join(dir, "named.yaml");
    writeFileSync(file, "steps:\n  - name: a\n    uses: ./steps.js#inc\n");
    const loaded = await loadPipelineYaml(file);
    expect(loaded).toMatchObject({ name: "named", version: "0.1" });
  });
});

describe("errors", () => {
  const error = async (yaml: string): Promise<BlueprintError> => {
    try {
      await load(yaml);
    } catch (err) {
      expect(err).toBeInstanceOf(BlueprintError);
      return err as BlueprintError;
    }
    throw new Error("expected the load to fail");
  };

  it("name the file, line, column and key", async () => {
    const err = await error("steps:\n  - name: a\n    uses: ./steps.js#inc\n    sink_to: 3\n");
    expect(err.location).toMatchObject({ file: "p.yaml", line: 4, column: 5, key: "steps[0].sink_to" });
    expect(err.message).toMatch(/^p\.yaml:4:5 \(steps\[0\]\.sink_to\): 'sink_to': /);
  });

  it("keys of another kind, missing names, empty pipelines, not-mappings, Flujo features not ported", async () => {
    expect((await error("steps:\n  - name: a\n    uses: ./steps.js#inc\n    branches: {}\n")).detail).toBe(
      "key 'branches' does not apply to kind 'step'",
    );
    expect((await error("steps:\n  - uses: ./steps.js#inc\n")).detail).toBe("a step needs a 'name'");
    expect((await error("steps: []\n")).detail).toMatch(/at least one step/);
    expect((await error("- a\n- b\n")).detail).toMatch(/must be a mapping/);
    expect((await error("agents: {}\nsteps:\n  - { name: a, uses: ./steps.js#inc }\n")).detail).toMatch(
      /'agents' is not supported/,
    );
    expect((await error("steps:\n  - { name: a, kind: tree_search }\n")).detail).toMatch(/not supported/);
    expect(
      (
        await error(
          "steps:\n  - { name: l, kind: loop, loop: { body: [{ name: a, uses: ./steps.js#inc }] } }\n",
        )
      ).detail,
    ).toMatch(/exit_expression/);
    expect(
      (await error("steps:\n  - { name: a, uses: ./steps.js#inc, config: { max_retries: -1 } }\n")).detail,
    ).toMatch(/maxRetries must be a non-negative integer/);
  });

  it("uses errors are BlueprintImportError; bare package names need the allow-list", async () => {
    const missing = await error("steps:\n  - { name: a, uses: ./steps.js#nope }\n");
    expect(missing).toBeInstanceOf(BlueprintImportError);
    const pkg = await error("steps:\n  - { name: a, uses: 'zod#z' }\n");
    expect(pkg).toBeInstanceOf(BlueprintImportError);
    expect(pkg.detail).toMatch(/package name/);
    const abs = await error("steps:\n  - { name: a, uses: '/etc/passwd#x' }\n");
    expect(abs.detail).toMatch(/outside the pipeline's directory/);
  });

  it("a symlink inside the directory that points outside it is refused; allowImportsFrom allows it", async () => {
    const outside = mkdtempSync(join(tmpdir(), "flujo-outside-"));
    try {
      writeFileSync(join(outside, "evil.js"), "export const x = () => 'outside';\n");
      const base = join(dir, "linked");
      mkdirSync(base, { recursive: true });
      symlinkSync(join(outside, "evil.js"), join(base, "evil.js"));
      const yaml = "steps:\n  - { name: a, uses: ./evil.js#x }\n";
      await expect(loadPipelineFromString(yaml, { baseDir: base })).rejects.toThrow(
        /outside the pipeline's directory/,
      );
      const ok = await loadPipelineFromString(yaml, { baseDir: base, allowImportsFrom: [outside] });
      expect((await new Flujo(ok.pipeline).run(null)).output).toBe("outside");
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("duplicate keys and alias bombs", async () => {
    expect((await error("steps: []\nsteps: []\n")).detail).toMatch(/invalid YAML/);
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x]",
      ...["b", "c", "d", "e", "f"].map((k, i) => {
        const prev = ["a", "b", "c", "d", "e"][i];
        return `${k}: &${k} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
      }),
      "steps: [*f]",
    ].join("\n");
    expect((await error(bomb)).detail).toMatch(/alias/i);
  });
});
