/**
 * Broken pipeline files through the built binary: each fails with Flujo's exit code and a message that
 * names the file, the line and the key; nothing is run and no run is stored.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLES, flujo, json, tempDir, writeFiles } from "./helpers.js";

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir());
  mkdirSync(join(dir, "pipes"));
  writeFiles(join(dir, "pipes"), {
    "steps.js": "export const echo = (x) => x;\nexport const notAFunction = 42;\n",
    // TypeScript modules are ESM: a "type": "module" package (or .mts files).
    "package.json": '{ "type": "module" }\n',
    "typed.ts": 'export const greet = (name: string): string => "hello " + name;\n',
    "typed.yaml": "steps:\n  - name: greet\n    uses: ./typed.ts#greet\n",
    "bad-yaml.yaml": 'version: "0.1"\nsteps:\n  - name: a\n    uses: [./steps.js#echo\n',
    "unknown-kind.yaml":
      'version: "0.1"\nsteps:\n  - name: a\n    uses: ./steps.js#echo\n  - name: b\n    kind: loopz\n',
    "unknown-key.yaml": "steps:\n  - name: a\n    uses: ./steps.js#echo\n    max_retries: 3\n",
    "missing-callable.yaml": "steps:\n  - name: a\n    uses: ./steps.js#nope\n",
    "missing-module.yaml": "steps:\n  - name: a\n    uses: ./nowhere.js#echo\n",
    "not-callable.yaml": "steps:\n  - name: a\n    uses: ./steps.js#notAFunction\n",
    "outside.yaml": "steps:\n  - name: a\n    uses: ../outside.js#echo\n",
    "bad-expression.yaml": [
      "steps:",
      "  - kind: loop",
      "    name: l",
      "    loop:",
      "      body:",
      "        - name: a",
      "          uses: ./steps.js#echo",
      "      max_loops: 2",
      '      exit_expression: "context.n >"',
      "",
    ].join("\n"),
    "proto-expression.yaml": [
      "steps:",
      "  - kind: conditional",
      "    name: c",
      '    condition_expression: "context.__proto__.polluted"',
      "    branches:",
      "      x:",
      "        - name: a",
      "          uses: ./steps.js#echo",
      "",
    ].join("\n"),
    "call-expression.yaml": [
      "steps:",
      "  - kind: conditional",
      "    name: c",
      '    condition_expression: "context.constructor(1)"',
      "    branches:",
      "      x:",
      "        - name: a",
      "          uses: ./steps.js#echo",
      "",
    ].join("\n"),
    "bad-config.yaml": "steps:\n  - name: a\n    uses: ./steps.js#echo\n    config:\n      max_retrys: 3\n",
    "alias-bomb.yaml": [
      'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "steps: [*e]",
      "",
    ].join("\n"),
    "nested-hitl.yaml": [
      "steps:",
      "  - kind: loop",
      "    name: review",
      "    loop:",
      '      exit_expression: "True"',
      "      body:",
      "        - kind: conditional",
      "          name: check",
      "          condition_expression: \"'ask'\"",
      "          branches:",
      "            ask:",
      "              - kind: hitl",
      "                name: confirm",
      "",
    ].join("\n"),
  });
  writeFileSync(join(dir, "outside.js"), "export const echo = (x) => x;\n");
});
afterAll(() => cleanup());

const run = (file: string, extra: string[] = []) =>
  flujo(["run", join("pipes", file), "-i", "x", ...extra], { cwd: dir });

describe("flujo run on broken files", () => {
  it("bad YAML: exit 2, with the file and line", () => {
    const r = run("bad-yaml.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipes\/bad-yaml\.yaml:\d+:\d+: invalid YAML/);
  });

  it("unknown kind: exit 2, at the kind's line and key", () => {
    const r = run("unknown-kind.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pipes/unknown-kind.yaml:6:5 (steps[1].kind): unknown kind 'loopz'");
    expect(r.stderr).toContain("Known kinds: step, parallel, conditional, loop, map");
  });

  it("unknown key: exit 2, naming it", () => {
    const r = run("unknown-key.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "pipes/unknown-key.yaml:4:5 (steps[0].max_retries): unknown key 'max_retries'",
    );
  });

  it("unknown config key: exit 2, at config.<key>", () => {
    const r = run("bad-config.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("(steps[0].config.max_retrys): unknown config key 'max_retrys'");
  });

  it("missing callable: exit 3, listing the module's exports", () => {
    const r = run("missing-callable.yaml");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      "pipes/missing-callable.yaml:3:5 (steps[0].uses): module './steps.js' has no export 'nope' (it exports: echo, notAFunction)",
    );
  });

  it("missing module: exit 3", () => {
    const r = run("missing-module.yaml");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("(steps[0].uses): module './nowhere.js' not found");
  });

  it("an export that is neither a function, an agent nor a Step: exit 3", () => {
    const r = run("not-callable.yaml");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      "'./steps.js#notAFunction' is not a function, an agent (an object with run()) or a Step",
    );
  });

  it("uses outside the pipeline's directory: exit 3; allowed with --allow-imports-from", () => {
    const r = run("outside.yaml");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("(steps[0].uses): '../outside.js' is outside the pipeline's directory");
    const allowed = run("outside.yaml", ["--allow-imports-from", dir]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain("output: x");
  });

  it("invalid expression: exit 2, at the expression's key", () => {
    const r = run("bad-expression.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'pipes/bad-expression.yaml:9:7 (steps[0].loop.exit_expression): invalid expression "context.n >": expected a value, found end of expression',
    );
  });

  it("prototype access and calls in expressions are refused when the file loads", () => {
    const proto = run("proto-expression.yaml");
    expect(proto.code).toBe(2);
    expect(proto.stderr).toContain("access to '__proto__' is not allowed");
    const call = run("call-expression.yaml");
    expect(call.code).toBe(2);
    expect(call.stderr).toContain("access to 'constructor' is not allowed");
  });

  it("an alias bomb is refused (bounded alias expansion), exit 2", () => {
    const r = run("alias-bomb.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/alias-bomb\.yaml.*invalid YAML: .*alias/i);
  });

  it("nothing was run or stored", () => {
    const list = flujo(["runs", "list", "--json"], { cwd: dir });
    // Only the runs that loaded: outside.yaml with --allow-imports-from (and typed.yaml, if it ran first).
    const ids = json<{ pipelineName: string }[]>(list).map((r) => r.pipelineName);
    expect(ids.filter((name) => name !== "typed")).toEqual(["outside"]);
  });

  it("usage errors: a missing file, bad --context-data, an unknown option: exit 2", () => {
    expect(flujo(["run", "nope.yaml"], { cwd: dir }).code).toBe(2);
    const bad = flujo(["run", join(EXAMPLES, "triage.yaml"), "--context-data", "{nope"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--context-data is not valid JSON");
    expect(flujo(["run", "--frobnicate"], { cwd: dir }).code).toBe(2);
  });
});

describe("TypeScript modules", () => {
  it("a uses of a .ts module loads through tsx", () => {
    const r = run("typed.yaml");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("output: hello x");
  });
});

describe("flujo validate", () => {
  it("a valid example: exit 0, text and JSON", () => {
    const text = flujo(["validate", join(EXAMPLES, "research.yaml")], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("research.yaml: valid (2 steps, 0 warnings)");
    const report = json(flujo(["validate", join(EXAMPLES, "refine.ts"), "--format", "json"], { cwd: dir }));
    expect(report).toMatchObject({ isValid: true, errors: [] });
  });

  it("an invalid graph: exit 4 with Flujo's rule id", () => {
    const text = flujo(["validate", "pipes/nested-hitl.yaml"], { cwd: dir });
    expect(text.code).toBe(4);
    expect(text.stdout).toContain("error HITL-NESTED-001 step 'confirm'");
    const report = flujo(["validate", "pipes/nested-hitl.yaml", "--format", "json"], { cwd: dir });
    expect(report.code).toBe(4);
    expect(json(report)).toMatchObject({ isValid: false, errors: [{ ruleId: "HITL-NESTED-001" }] });
  });

  it("a file that does not load: its exit code, and the location in the JSON", () => {
    const r = flujo(["validate", "pipes/unknown-kind.yaml", "--format", "json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(json(r)).toMatchObject({
      isValid: false,
      errors: [{ ruleId: "LOAD", location: { line: 6, column: 5, key: "steps[1].kind" } }],
    });
    expect(flujo(["validate", "pipes/missing-callable.yaml"], { cwd: dir }).code).toBe(3);
  });
});
