import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

describe("examples", () => {
  it("quickstart runs end to end", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const { main } = await import("../examples/quickstart.js");
      expect(await main()).toEqual({ sent: true, reply: "Re: The site is down! (priority high)" });
      expect(log).toHaveBeenCalledWith("completed", expect.anything(), "$0.002", "high");
    } finally {
      log.mockRestore();
    }
  });

  it("durable: pauses, is resumed by id from a new connection, and a second run reuses the cached step", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const dir = mkdtempSync(join(tmpdir(), "flujo-example-"));
    try {
      const { main } = await import("../examples/durable.js");
      const path = join(dir, "state.db");
      expect(await main(path)).toEqual({
        status: "completed",
        output: "yes: summary of 700 chars",
        fromCache: false,
        summaries: 1,
      });
      expect(await main(path)).toMatchObject({ status: "completed", fromCache: true, summaries: 1 });
    } finally {
      log.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("observability: a trace tree, percentiles, an alert that resolves, a failure report, Prometheus text", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const { main } = await import("../examples/observability.js");
      const r = await main();
      expect(r).toMatchObject({
        spans: 2,
        runs: 7,
        alerts: ["alert", "alert_resolved"],
        failure: "Step failed: summarize",
      });
      expect(r.p95Ms).toBeGreaterThan(0);
      expect(r.prometheusLines).toBeGreaterThan(20);
      expect(out.mock.calls.map((c) => String(c[0])).join("")).toContain("Pipeline End");
    } finally {
      log.mockRestore();
      out.mockRestore();
    }
  });
});
