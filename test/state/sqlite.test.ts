import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import {
  type AgentRunOptions,
  ConfigurationError,
  Flujo,
  MemoryBackend,
  Pipeline,
  pipeline,
  SQLiteBackend,
  SQLiteCache,
  StateBackendError,
  Step,
  stateBackendFromUri,
} from "../../src/index.js";
import { SCHEMA_VERSION } from "../../src/state/schema.js";
import { stateBackendFromEnv } from "../../src/state/uri.js";
import { StubAgent } from "../support/agents.js";

const dir = mkdtempSync(join(tmpdir(), "flujo-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = () => join(dir, `db-${files++}.db`);

type Ctx = Record<string, unknown>;

const inc = (name: string) => Step.fromCallable(async (x: number) => x + 1, { name });

describe("SQLiteBackend: the file", () => {
  it("migrates a new file, and an empty existing one, to the current schema with WAL", () => {
    for (const path of [fresh(), join(dir, "empty.db")]) {
      if (path.endsWith("empty.db")) writeFileSync(path, "");
      const backend = new SQLiteBackend(path);
      expect(backend.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(backend.db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(backend.db.pragma("synchronous", { simple: true })).toBe(1);
      const tables = backend.db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((r) => (r as { name: string }).name);
      expect(tables).toEqual(["cache", "runs", "snapshots", "steps", "traces"]);
      backend.close();
      // Opening it again migrates nothing and keeps the data.
      new SQLiteBackend(path).close();
    }
  });

  it('durability "full" syncs every commit; bad options are refused with the option named', () => {
    const backend = new SQLiteBackend(fresh(), { durability: "full" });
    expect(backend.db.pragma("synchronous", { simple: true })).toBe(2);
    backend.close();
    expect(() => new SQLiteBackend(fresh(), { durability: "fast" as never })).toThrow(/durability must be/);
    expect(() => new SQLiteBackend(fresh(), { busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
  });

  it("a file from a newer schema, a file that is not SQLite and an unwritable place give errors naming the file", () => {
    const newer = fresh();
    const db = new Database(newer);
    db.pragma("user_version = 99");
    db.close();
    expect(() => new SQLiteBackend(newer)).toThrow(
      new RegExp(`State database '${newer}' has schema version 99, newer than this flujo reads`),
    );

    const text = join(dir, "notes.db");
    writeFileSync(text, "these are my notes, not a database ".repeat(200));
    const err = (() => {
      try {
        new SQLiteBackend(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StateBackendError);
    expect((err as Error).message).toContain(`'${text}' is not a SQLite database`);

    // sysfs takes no new directories, for root too; nor does a path through a regular file.
    expect(() => new SQLiteBackend("/sys/flujo-nowhere/state.db")).toThrow(
      /Cannot create the directory of state database '\/sys\/flujo-nowhere\/state\.db'/,
    );
    expect(() => new SQLiteBackend(join(text, "state.db"))).toThrow(StateBackendError);
  });

  it("an unreadable run gives an error naming the run and the row, and the other runs still load", async () => {
    const path = fresh();
    const backend = new SQLiteBackend(path);
    const runner = new Flujo(pipeline(inc("a"), inc("b")), { stateBackend: backend });
    await runner.run(0, { runId: "good" });
    await runner.run(0, { runId: "bad" });
    backend.db.prepare("UPDATE steps SET result = x'c1c1c1' WHERE run_id = 'bad' AND seq = 2").run();
    await expect(backend.loadState("bad")).rejects.toThrow(
      /run 'bad': step row 2 \('b'\): result: stored bytes are unreadable/,
    );
    await expect(runner.run(0, { runId: "bad" })).rejects.toBeInstanceOf(StateBackendError);
    expect((await backend.loadState("good"))?.status).toBe("completed");
    backend.db.prepare("UPDATE snapshots SET context = x'92' WHERE run_id = 'good'").run();
    await expect(backend.loadState("good")).rejects.toThrow(/run 'good': context snapshot/);
    backend.close();
  });

  it("bytes written per step follow what the step changed, not the history: step 1000 costs what step 10 does", async () => {
    const path = fresh();
    const backend = new SQLiteBackend(path);
    const steps: Step[] = [];
    for (let i = 0; i < 1000; i++) {
      steps.push(
        Step.fromCallable(
          async (x: number, { context }: AgentRunOptions) => {
            (context as Ctx).counter = x;
            return x + 1;
          },
          { name: `step${String(i).padStart(4, "0")}` },
        ),
      );
    }
    const payload: Ctx = {};
    for (let i = 0; i < 200; i++) payload[`k${i}`] = "x".repeat(100);
    await new Flujo(new Pipeline(steps), {
      stateBackend: backend,
      enableCache: false,
      initialContextData: { payload },
    }).run(0, { runId: "long" });
    const rows = backend.db
      .prepare(
        "SELECT seq, length(result) + coalesce(length(patch), 0) AS bytes FROM steps WHERE run_id = 'long'",
      )
      .all() as Array<{ seq: number; bytes: number }>;
    expect(rows).toHaveLength(1000);
    const at = (seq: number) => rows.find((r) => r.seq === seq)!.bytes;
    // Row sizes differ only by the digits of the numbers in them.
    expect(Math.abs(at(1000) - at(10))).toBeLessThanOrEqual(8);
    const total = rows.reduce((sum, r) => sum + r.bytes, 0);
    const snapshot = backend.db.prepare("SELECT length(context) AS n FROM snapshots").get() as { n: number };
    // A step's row is small next to the 20 KB context, which is written whole only at the snapshots.
    expect(total / 1000).toBeLessThan(200);
    expect(snapshot.n).toBeGreaterThan(20_000);
    backend.close();
  });
});

describe("state URIs", () => {
  it("sqlite:/// paths, memory:// and FLUJO_STATE_URI select the backend; other schemes are refused", () => {
    const rel = stateBackendFromUri(`sqlite:///${join(dir, "rel.db")}`);
    expect(rel).toBeInstanceOf(SQLiteBackend);
    expect((rel as SQLiteBackend).path).toBe(join(dir, "rel.db"));
    rel.close();
    expect(stateBackendFromUri("memory://")).toBeInstanceOf(MemoryBackend);
    const bare = stateBackendFromUri(join(dir, "bare.sqlite"));
    expect(bare).toBeInstanceOf(SQLiteBackend);
    bare.close();
    expect(() => stateBackendFromUri("postgres://db/x")).toThrow(ConfigurationError);
    expect(() => stateBackendFromUri("sqlite:///")).toThrow(/names no file/);
    expect(() => stateBackendFromUri("state")).toThrow(/Unsupported state URI 'state'/);

    const fromEnv = stateBackendFromEnv({ FLUJO_STATE_URI: `sqlite:///${join(dir, "env.db")}` });
    expect(fromEnv).toBeInstanceOf(SQLiteBackend);
    fromEnv?.close();
    expect(stateBackendFromEnv({})).toBeUndefined();
    const runner = new Flujo(inc("a"), { persistState: false, stateBackend: new MemoryBackend() });
    expect(runner.stateBackend).toBeUndefined();
  });
});

describe("SQLiteCache: a step cache that survives restarts", () => {
  it("a result cached by one process's runner is a hit for a new runner and a new connection", async () => {
    const path = fresh();
    const agent = new StubAgent(["expensive answer", "second call"]);
    const build = (cache: SQLiteCache) =>
      new Flujo(Step.cached(new Step({ name: "ask", agent }), { backend: cache }), { enableCache: false });
    const first = new SQLiteCache(path);
    expect((await build(first).run("question")).output).toBe("expensive answer");
    first.close();

    const second = new SQLiteCache(path);
    const hit = await build(second).run("question");
    expect(hit.output).toBe("expensive answer");
    expect(hit.stepHistory[0].metadata.cacheHit).toBe(true);
    expect(agent.calls).toBe(1);
    expect((await build(second).run("other question")).output).toBe("second call");
    second.close();
  });

  it("serves the executor cache, shares the state file, expires entries and stays within its size", async () => {
    const backend = new SQLiteBackend(fresh());
    const cache = new SQLiteCache(backend, { maxEntries: 50 });
    let calls = 0;
    const step = Step.fromCallable(
      async (x: number) => {
        calls++;
        return { doubled: x * 2, at: new Date(0) };
      },
      { name: "double" },
    );
    const runner = new Flujo(step, { cache, stateBackend: backend });
    await runner.run(21);
    const hit = await runner.run(21);
    expect(hit.output).toEqual({ doubled: 42, at: new Date(0) });
    expect(hit.stepHistory[0].metadata.cacheHit).toBe(true);
    expect(calls).toBe(1);

    for (let i = 0; i < 300; i++) await runner.run(1000 + i);
    expect(cache.size).toBeLessThanOrEqual(50 + 64);
    expect(cache.size).toBeGreaterThanOrEqual(50);

    const shortLived = new SQLiteCache(backend, { ttlS: 0.001 });
    shortLived.clear();
    const r = (await runner.run(7)).stepHistory[0];
    shortLived.set("k", r);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(shortLived.get("k")).toBeUndefined();
    backend.close();
  });

  it("an unreadable entry is a miss, and bad options are refused", () => {
    const backend = new SQLiteBackend(fresh());
    const cache = new SQLiteCache(backend);
    backend.db.prepare("INSERT INTO cache VALUES ('broken', x'c1', 9e15, 0, 1)").run();
    expect(cache.get("broken")).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(() => new SQLiteCache(backend, { ttlS: 0 })).toThrow(RangeError);
    expect(() => new SQLiteCache(backend, { maxEntries: 0.5 })).toThrow(RangeError);
    backend.close();
  });
});

describe('SQLiteBackend durability "batched"', () => {
  it("commits the step rows of one event-loop turn together, and before any read or status change", async () => {
    const path = fresh();
    const batched = new SQLiteBackend(path, { durability: "batched" });
    const other = new SQLiteBackend(path);
    const runner = new Flujo(pipeline(inc("a"), Step.humanInTheLoop({ name: "h" })), {
      stateBackend: batched,
    });
    // The run pauses: its status change commits the step row written before it.
    await runner.run(0, { runId: "b" });
    expect(await other.loadState("b")).toMatchObject({ status: "paused", currentStepIndex: 1 });

    // Rows appended in one turn are not visible to another connection until the batch commits.
    const state = await batched.loadState("b");
    const row = { ...state!.steps[0], seq: 2, stepIndex: 1, historyIndex: 1, stepName: "h" };
    const encoded = (await batched.readRun("b"))!.steps[0].result;
    batched.appendStep("b", { ...row, result: encoded, patch: undefined }, undefined);
    expect((await other.readRun("b"))?.steps).toHaveLength(1);
    batched.flush();
    expect((await other.readRun("b"))?.steps).toHaveLength(2);

    // Left to itself, the batch commits when the event loop turns.
    batched.appendStep("b", { ...row, seq: 3, result: encoded, patch: undefined }, undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await other.readRun("b"))?.steps).toHaveLength(3);
    other.close();
    batched.close();
  });
});
