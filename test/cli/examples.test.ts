/**
 * Every example in examples/ run through the built `flujo` binary, in a fresh working directory, with the
 * default store (.flujo/state.db there); the store is then read back with `flujo runs`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLES, flujo, json, spawnFlujo, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir());
});
afterAll(() => cleanup());

const example = (name: string) => join(EXAMPLES, name);

interface RunJson {
  runId: string;
  status: string;
  output: unknown;
  totalCostUsd: number;
  totalTokens: number;
}

describe("flujo run on the examples", () => {
  it("triage.yaml: retries, a fallback, the output, cost and tokens; the run is in .flujo/state.db", () => {
    const r = flujo(["run", example("triage.yaml"), "-i", "The site is down!"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("status: completed");
    expect(r.stdout).toContain("output: Hello, we are on it: [HIGH] The site is down!\n-- Support team");
    expect(r.stdout).toMatch(/cost: \$0\.0020 {2}tokens: 121 {2}time: .+ {2}steps: 3/);
    // Piped stderr: one plain line per step.
    expect(r.stderr).toContain("ok [1/3] classify");
    expect(r.stderr).toMatch(/ok \[2\/3\] draft \(.*2 attempts\)/);
    expect(r.stderr).toMatch(/ok \[3\/3\] polish \(.*via template\)/);
    expect(existsSync(join(dir, ".flujo", "state.db"))).toBe(true);

    const runId = /run: +(\S+)/.exec(r.stdout)?.[1] as string;
    const list = json<{ runId: string; status: string; pipelineName: string }[]>(
      flujo(["runs", "list", "--json"], { cwd: dir }),
    );
    expect(list.find((row) => row.runId === runId)).toMatchObject({
      status: "completed",
      pipelineName: "support_triage",
    });
    const show = flujo(["runs", "show", runId], { cwd: dir });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("status:   completed");
    expect(show.stdout).toMatch(/draft +yes +2 /);
    expect(show.stdout).toContain('"priority": "high"');
    const trace = flujo(["runs", "trace", runId], { cwd: dir });
    expect(trace.code, trace.stderr).toBe(0);
    // The fallback's span sits under the step it stands in for; durations vary, so they are masked.
    expect(trace.stdout.replace(/ [\d.]+m?s$/gm, " <t>")).toBe(
      [
        "pipeline_run [completed] <t>",
        "├─ classify [completed] <t>",
        "├─ draft [completed] <t>",
        "└─ polish [completed] <t>",
        "   └─ template [completed] <t>",
        "",
      ].join("\n"),
    );
  });

  it("research.yaml: parallel branches merge their context fields (--json)", () => {
    const r = flujo(["run", example("research.yaml"), "-i", "vector databases", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = json<RunJson>(r);
    expect(out).toMatchObject({
      status: "completed",
      output: "2 findings: web: vector databases adoption doubled; papers: vector databases cuts latency 30%",
      totalCostUsd: 0.001,
    });
    const run = json<{ pipelineContext: Record<string, unknown> }>(
      flujo(["runs", "show", out.runId, "--json"], { cwd: dir }),
    );
    expect(run.pipelineContext).toMatchObject({
      webNotes: ["web: vector databases adoption doubled"],
      paperNotes: ["papers: vector databases cuts latency 30%"],
    });
  });

  it("approval.yaml: the human's answer is piped on stdin and the run resumes", () => {
    const r = flujo(["run", example("approval.yaml"), "-i", "release 1.2"], { cwd: dir, input: "yes\n" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("PAUSED approve: Publish 'Draft post about release 1.2'? (yes/no)");
    expect(r.stdout).toContain("output: published: Draft post about release 1.2");
    const runId = /run: +(\S+)/.exec(r.stdout)?.[1] as string;
    const run = json<{ pipelineContext: Record<string, unknown> }>(
      flujo(["runs", "show", runId, "--json"], { cwd: dir }),
    );
    expect(run.pipelineContext.approval).toBe("yes");
    expect(run.pipelineContext.hitlHistory).toMatchObject([{ humanResponse: "yes" }]);
  });

  it("approval.yaml: without an answer the run stays paused; --run-id answers it later", () => {
    const first = flujo(["run", example("approval.yaml"), "-i", "v2", "--run-id", "approval-1"], {
      cwd: dir,
    });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("status: paused");
    expect(first.stdout).toContain("--run-id approval-1");
    const listed = json<{ runId: string; status: string }[]>(
      flujo(["runs", "list", "--status", "paused", "--json"], { cwd: dir }),
    );
    expect(listed.map((row) => row.runId)).toContain("approval-1");

    const later = flujo(["run", example("approval.yaml"), "--run-id", "approval-1"], {
      cwd: dir,
      input: "no\n",
    });
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toContain("output: kept as draft: Draft post about v2");
    const again = flujo(["run", example("approval.yaml"), "--run-id", "approval-1"], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("already completed");
  });

  it("cached.yaml: the second run is a cache hit from the state file; the model is not called", () => {
    const first = flujo(["run", example("cached.yaml"), "-i", "hello world"], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain("(embed: calling the model)");
    const second = flujo(["run", example("cached.yaml"), "-i", "hello world"], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain("(embed: calling the model)");
    expect(second.stderr).toMatch(/ok \[1\/2\] embed \(.*cached\)/);
    expect(second.stdout).toContain("output: long text");
  });

  it("refine.ts: a TypeScript pipeline with a refine loop", () => {
    const r = flujo(["run", example("refine.ts"), "-i", "flujo ships a CLI", "--summary"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^completed run_\S+ {2}cost: \$0\.0030 {2}tokens: 124 /);
    const full = flujo(["run", example("refine.ts"), "-i", "flujo ships a CLI", "--json"], { cwd: dir });
    expect(json<RunJson>(full).output).toBe("Flujo ships a CLI: typed pipelines for Node.js!");
  });

  it("budget.ts: completes under its budget; --max-cost below it stops the run with exit 1", () => {
    const ok = flujo(["run", example("budget.ts"), "-i", "q3"], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("output: q3 > outline > write > review");
    expect(ok.stdout).toContain("cost: $0.0900");
    const over = flujo(["run", example("budget.ts"), "-i", "q3", "--max-cost", "0.05"], { cwd: dir });
    expect(over.code).toBe(1);
    expect(over.stderr).toContain("Cost limit of $0.05 exceeded");
    expect(over.stdout).toContain("status: failed");
  });

  it("reads the input from stdin with -i -", () => {
    const r = flujo(["run", example("triage.yaml"), "-i", "-", "--json"], { cwd: dir, input: "all good\n" });
    expect(r.code, r.stderr).toBe(0);
    expect(json<RunJson>(r).output).toBe("Hello, we are on it: [LOW] all good\n-- Support team");
  });

  it("long-running.yaml: Ctrl-C exits 130 and leaves the run resumable by --run-id", async () => {
    const child = spawnFlujo(["run", example("long-running.yaml"), "-i", "go", "--run-id", "long-1"], dir);
    let stderr = "";
    let stdout = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    let sent = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString();
        // The first step is done, so the run waits in (or is about to start) the slow one.
        if (!sent && stderr.includes("ok [1/2] prepare")) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      child.on("close", (c) => resolve(c));
    });
    expect(code, stdout + stderr).toBe(130);
    expect(stderr).toContain("interrupted; run long-1 is saved");
    const stored = json<{ status: string; currentStepIndex: number }>(
      flujo(["runs", "show", "long-1", "--json"], { cwd: dir }),
    );
    expect(stored).toMatchObject({ status: "failed", currentStepIndex: 1 });

    const resumed = flujo(["run", example("long-running.yaml"), "--run-id", "long-1"], {
      cwd: dir,
      env: { FLUJO_EXAMPLE_FAST: "1" },
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("output: prepared go, then done");
    // The first step was not run again.
    expect(resumed.stderr).not.toContain("prepare");
  });
});
