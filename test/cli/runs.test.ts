/** `flujo runs trace` prints a stored trace tree (here a hand-made tree is saved directly; examples.test.ts checks one recorded by a run). */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Flujo, SQLiteBackend, Step } from "../../src/index.js";
import { flujo, json, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir());
});
afterAll(() => cleanup());

const span = (name: string, start: number, end: number, children: unknown[] = [], status = "completed") => ({
  spanId: name,
  name,
  startTime: start,
  endTime: end,
  parentSpanId: undefined,
  attributes: {},
  children,
  events: [],
  status,
});

describe("flujo runs trace", () => {
  it("prints the stored trace tree, or JSON", async () => {
    const state = new SQLiteBackend(join(dir, "state.db"));
    const runner = new Flujo(
      Step.fromCallable((x: string) => x, { name: "echo" }),
      {
        stateBackend: state,
        pipelineName: "traced",
      },
    );
    await runner.run("hi", { runId: "traced-1" });
    await state.saveTrace(
      "traced-1",
      span("pipeline_run", 0, 500, [
        span("fetch", 0, 200),
        span("loop", 200, 500, [span("inner", 200, 300, [], "failed")]),
      ]),
    );
    state.close();

    const uri = `sqlite:///${join(dir, "state.db")}`;
    const text = flujo(["runs", "trace", "traced-1", "--state-uri", uri], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(
      [
        "pipeline_run [completed] 500ms",
        "├─ fetch [completed] 200ms",
        "└─ loop [completed] 300ms",
        "   └─ inner [failed] 100ms",
        "",
      ].join("\n"),
    );
    const tree = json<{ name: string; children: unknown[] }>(
      flujo(["runs", "trace", "traced-1", "--state-uri", uri, "--json"], { cwd: dir }),
    );
    expect(tree).toMatchObject({ name: "pipeline_run", children: [{ name: "fetch" }, { name: "loop" }] });

    const unknown = flujo(["runs", "trace", "nope", "--state-uri", uri], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("run nope not found");
    expect(flujo(["runs", "list", "--status", "bogus", "--state-uri", uri], { cwd: dir }).code).toBe(2);
  });
});
