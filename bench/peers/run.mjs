/**
 * `npm run bench:peers` (at the repo root): flujo beside LangGraph.js, Mastra, the physical floor and the
 * Python original, on the shared workloads of docs/peers.md §8.2, in one run. Each engine's task is
 * checked for the right result before it is timed (and its last timed run after), so a broken adapter
 * cannot post a fast figure. Prints Markdown tables (stdout) and writes bench/peers/results/latest.json
 * and latest.md (--quick: short runs, no peers at W1 N=10,000, concurrency at 1,000 only, written to
 * results/quick.json and quick.md instead). docs/performance-peers.md explains the workloads.
 * BENCH_TIME (ms per task, default 1000); PEERS_ONLY=w1,w2,w3,scenarios,concurrency,python for a subset.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, freemem, platform, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { format } from "node:util";
import { backend } from "flujo";
import { Bench } from "tinybench";
import { PUBLISHED, runPython } from "./lib/python.mjs";
import { flujoScenarios } from "./lib/scenarios.mjs";
import { figures, gc, memoryHooks, msFmt, printTable, ratioFmt, usFmt } from "./lib/stats.mjs";
import * as W from "./lib/workloads.mjs";

// Everything printed on stdout is the Markdown report, also written next to the JSON (docs quote that
// file); progress goes to stderr so it stays out of it.
const transcript = [];
const print = console.log.bind(console);
console.log = (...args) => {
  transcript.push(format(...args));
  print(...args);
};

const quick = process.argv.includes("--quick");
const only = new Set((process.env.PEERS_ONLY ?? "w1,w2,w3,scenarios,concurrency,python").split(","));
const TIME = quick ? 30 : Number(process.env.BENCH_TIME ?? 1000);
const benchOptions = {
  time: TIME,
  iterations: quick ? 2 : 10,
  // As long a warm-up as the timed loop: LangGraph's W1 N=10 run takes 12.7 ms over its first 75 runs and
  // 5.8 ms after 300, so a 100 ms warm-up charged its JIT warm-up to it (13.6 ms mean in a first full run).
  warmupTime: quick ? 10 : TIME,
  warmupIterations: quick ? 3 : 10,
  retainSamples: true,
};
const here = fileURLToPath(new URL(".", import.meta.url));

function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
}

const machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memGb: Math.round(totalmem() / 2 ** 30),
  freeMemGb: Math.round(freemem() / 2 ** 30),
  os: `${platform()} ${release()}`,
  node: process.version,
};
const versions = {
  flujo: `${JSON.parse(readFileSync(join(here, "../../package.json"), "utf8")).version} (${backend} backend)`,
  "@langchain/langgraph": version("@langchain/langgraph"),
  "@langchain/core": version("@langchain/core"),
  "@langchain/langgraph-checkpoint-sqlite": version("@langchain/langgraph-checkpoint-sqlite"),
  "@mastra/core": version("@mastra/core"),
  "@mastra/libsql": version("@mastra/libsql"),
  zod: version("zod"),
  tinybench: version("tinybench"),
};
console.log(
  `# flujo vs peers${quick ? " (--quick: figures are not meaningful)" : ""}\n\n${machine.cores} × ${machine.cpu}, ${machine.memGb} GB, ${machine.os}, node ${machine.node}\n${Object.entries(
    versions,
  )
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}`,
);
if (!globalThis.gc) console.log("(run with --expose-gc for GC between benches: npm run bench:peers does)");

const failures = {};

/** A run slower than this is timed once, its check run serving as the warm-up (LangGraph at N=10,000: ~1 min). */
const SLOW_RUN_MS = 2000;

/**
 * Every engine's task for one workload, one after the other, each in a tinybench Bench of its own so a
 * slow engine can be sampled less. `adapters` is [label, () => adapter]; an adapter that fails to build
 * or to pass its check is reported in `failures` and left out of the timing. The check run is timed by
 * hand: over SLOW_RUN_MS, the task gets one sample and no further warm-up.
 */
async function measure(workload, adapters) {
  const result = {};
  for (const [label, make] of adapters) {
    const key = `${workload} / ${label}`;
    console.error(`(${key} ...)`);
    let adapter;
    try {
      adapter = await make();
      const t0 = performance.now();
      const out = await adapter.run(0);
      const firstMs = performance.now() - t0;
      const err = await adapter.check(out, 0);
      if (err) {
        failures[key] = `check failed before timing: ${err}`;
        continue;
      }
      const slow = firstMs > SLOW_RUN_MS;
      const bench = new Bench(
        slow ? { ...benchOptions, time: 0, iterations: 1, warmupTime: 0, warmupIterations: 0 } : benchOptions,
      );
      let i = 0;
      let last;
      let lastInput = 0;
      const memory = memoryHooks();
      bench.add(
        label,
        async () => {
          lastInput = ++i;
          last = await adapter.run(lastInput);
        },
        adapter.afterEach ? { ...memory.hooks, afterEach: adapter.afterEach } : memory.hooks,
      );
      gc();
      await bench.run();
      const f = figures(bench.tasks[0], memory.read());
      if (slow) f.note = `one sample: the check run took ${(firstMs / 1000).toFixed(1)} s`;
      const after = await adapter.check(last, lastInput);
      if (after) failures[key] = `check failed after timing: ${after}`;
      else result[label] = f;
    } catch (e) {
      failures[key] = `threw: ${e?.message ?? e}`;
    } finally {
      await adapter?.close?.();
    }
  }
  return result;
}

const addPer = (figs, n, field) => {
  for (const f of Object.values(figs)) f[field] = (f.mean * 1000) / n;
  return figs;
};

// ---------------------------------------------------------------- the runs

const results = { date: new Date().toISOString(), quick, machine, versions, unit: "ms per run unless named" };
const python = only.has("python") ? runPythonFirst() : { live: false, reason: "PEERS_ONLY left python out" };

/** Python first, while nothing else is running, so its figures are not perturbed by V8's GC or JIT threads. */
function runPythonFirst() {
  console.error("(running the Python original: bench/flujo_baseline.py ...)");
  const r = runPython(quick);
  if (r.live) console.log(`\nPython original: flujo ${r.flujo} on Python ${r.python} (${r.command}), live.`);
  else console.log(`\nPython original: not run (${r.reason}); Flujo's published figures are shown instead.`);
  return r;
}
results.python = python;
results.flujoPublished = PUBLISHED;

const W1_SIZES = [10, 100, 1000, 10_000];
const PEERS = new Set(["langgraph", "mastra"]);

const ENGINES_W1 = (n) =>
  [
    ["floor", () => W.floorW1(n)],
    ["flujo (cache off)", () => W.flujoW1(n, { enableCache: false })],
    ["flujo (default)", () => W.flujoW1(n, {})],
    ["langgraph", () => W.langgraphW1(n)],
    ["mastra", () => W.mastraW1(n)],
  ].filter(([label]) => !(quick && n === 10_000 && PEERS.has(label)));

if (only.has("w1")) {
  results.w1 = {};
  for (const n of W1_SIZES) results.w1[n] = addPer(await measure(`W1 N=${n}`, ENGINES_W1(n)), n, "usPerStep");
  const py = (n) => (python.live ? python.w1?.[`w1 N=${n}`]?.us_per_step : undefined);
  const pyLabel = python.live ? `flujo-py ${python.flujo} (live)` : "flujo-py (published)";
  printTable(
    "W1: N sequential no-op steps, in memory (µs per step = ms per run / N)",
    [
      "N",
      "floor",
      "flujo cache off",
      "flujo default",
      "LangGraph",
      "Mastra",
      pyLabel,
      "flujo / floor",
      "LangGraph / flujo",
      "Mastra / flujo",
      "fastest peer / flujo (target ≥ 25x)",
      "fastest peer / flujo cache off",
      "flujo-py / flujo",
    ],
    W1_SIZES.map((n) => {
      const r = results.w1[n];
      const f = r["flujo (default)"]?.usPerStep;
      const p = py(n);
      const peers = [r.langgraph?.usPerStep, r.mastra?.usPerStep].filter((x) => x !== undefined);
      const fastest = peers.length ? Math.min(...peers) : undefined;
      const peerCell = (label) =>
        r[label] ? usFmt(r[label].usPerStep) : quick && n === 10_000 ? "not run (--quick)" : "-";
      return [
        n.toLocaleString("en"),
        usFmt(r.floor?.usPerStep),
        usFmt(r["flujo (cache off)"]?.usPerStep),
        usFmt(f),
        peerCell("langgraph"),
        peerCell("mastra"),
        python.live ? usFmt(p) : n >= 1000 ? "-" : `${PUBLISHED.perStepUs.uncached.join("–")} µs (published)`,
        ratioFmt(f / r.floor?.usPerStep),
        ratioFmt(r.langgraph?.usPerStep / f),
        ratioFmt(r.mastra?.usPerStep / f),
        fastest === undefined ? "-" : `${ratioFmt(fastest / f)} ${fastest / f >= 25 ? "(met)" : "(not met)"}`,
        ratioFmt(fastest / r["flujo (cache off)"]?.usPerStep),
        ratioFmt((python.live ? p : undefined) / f),
      ];
    }),
    `Ratios are against flujo with its default settings (executor cache on, every step a miss: the key is computed each time). A run slower than ${SLOW_RUN_MS / 1000} s is timed once (LangGraph and Mastra at N = 10,000). The Python original runs N = 10, 100 and 1,000.${quick ? " --quick leaves the peers out at N = 10,000 (a LangGraph run takes about a minute)." : ""}`,
  );
}

if (only.has("w2")) {
  results.w2 = {};
  for (const k of [10, 100])
    results.w2[k] = addPer(
      await measure(`W2 K=${k}`, [
        ["floor", () => W.floorW2(k)],
        ["flujo (cache off)", () => W.flujoW2(k, { enableCache: false })],
        ["flujo (default)", () => W.flujoW2(k, {})],
        ["langgraph", () => W.langgraphW2(k)],
        ["mastra", () => W.mastraW2(k)],
      ]),
      k,
      "usPerBranch",
    );
  results.w2MastraStateAppends = {};
  for (const k of [10, 100]) results.w2MastraStateAppends[k] = await W.mastraStateW2(k);
  printTable(
    "W2: a source, K parallel branches each appending to a list, a join (µs per branch = ms per run / K; ms per run)",
    [
      "K",
      "floor (Promise.all)",
      "flujo cache off",
      "flujo default",
      "LangGraph",
      "Mastra",
      "LangGraph / flujo",
      "Mastra / flujo",
    ],
    [10, 100].map((k) => {
      const r = results.w2[k];
      const cell = (f) => (f ? `${usFmt(f.usPerBranch)} (${msFmt(f.mean)})` : "-");
      const f = r["flujo (default)"]?.mean;
      return [
        String(k),
        cell(r.floor),
        cell(r["flujo (cache off)"]),
        cell(r["flujo (default)"]),
        cell(r.langgraph),
        cell(r.mastra),
        ratioFmt(r.langgraph?.mean / f),
        ratioFmt(r.mastra?.mean / f),
      ];
    }),
    `Mastra's branches return their entry and the join builds the list from the {stepId: output} map: appending through Mastra's workflow state (setState) keeps ${results.w2MastraStateAppends[10]} of 10 and ${results.w2MastraStateAppends[100]} of 100 entries (parallel setState is last-writer-wins).`,
  );
}

if (only.has("w3")) {
  results.w3 = {};
  for (const n of [10, 100]) {
    const dir = mkdtempSync(join(tmpdir(), "flujo-peers-w3-"));
    try {
      results.w3[n] = addPer(
        await measure(`W3 N=${n}`, [
          ["flujo (normal)", () => W.flujoW3(n, dir, "normal", { enableCache: false })],
          ["flujo (batched)", () => W.flujoW3(n, dir, "batched", { enableCache: false })],
          ["flujo (full)", () => W.flujoW3(n, dir, "full", { enableCache: false })],
          ["langgraph (sync)", () => W.langgraphW3(n, dir, "sync")],
          ["langgraph (async)", () => W.langgraphW3(n, dir, "async")],
          ["langgraph (exit)", () => W.langgraphW3(n, dir, "exit")],
          ["mastra (libsql)", () => W.mastraW3(n, dir)],
        ]),
        n,
        "usPerStep",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const labels = [
    "flujo (normal)",
    "flujo (batched)",
    "flujo (full)",
    "langgraph (sync)",
    "langgraph (async)",
    "langgraph (exit)",
    "mastra (libsql)",
  ];
  printTable(
    "W3: W1 with a file SQLite store, a fresh run id / thread id per run (µs per step = ms per run / N)",
    [
      "engine / mode",
      ...[10, 100].flatMap((n) => [`N=${n} µs/step`, `N=${n} ms/run`, `N=${n} / flujo normal`]),
    ],
    labels.map((label) => [
      label,
      ...[10, 100].flatMap((n) => {
        const f = results.w3[n][label];
        return [
          usFmt(f?.usPerStep),
          msFmt(f?.mean),
          ratioFmt(f?.mean / results.w3[n]["flujo (normal)"]?.mean),
        ];
      }),
    ]),
    "flujo: SQLiteBackend durability normal (a commit per step, WAL, synchronous=NORMAL), batched (the steps of one event-loop turn per commit), full (synchronous=FULL); executor cache off. LangGraph: SqliteSaver, durability sync / async / exit. Mastra: LibSQLStore on a file: URL. Old runs are deleted outside the timed call (20 kept).",
  );
}

if (only.has("scenarios")) {
  results.scenarios = { flujoTs: await flujoScenarios(benchOptions) };
  const ts = results.scenarios.flujoTs;
  const pyS = python.live ? python.scenarios : undefined;
  const names = ["execution", "memory", "concurrent", "cache", "context", "execution (original protocol)"];
  printTable(
    "Flujo's five validation scenarios (ExecutorCore.execute; µs per sample, mean; p95 in brackets)",
    [
      "scenario",
      "published (Python, 12 cores)",
      python.live ? `flujo-py ${python.flujo} live` : "flujo-py live",
      "flujo-ts",
      "flujo-py / flujo-ts",
      "flujo-py cache off",
      "flujo-ts cache off",
    ],
    names.map((name) => {
      const pub = PUBLISHED.scenarios[name === "execution (original protocol)" ? "execution" : name];
      const cell = (f) => (f ? `${usFmt(f.mean * 1000)} (${usFmt(f.p95 * 1000)})` : "-");
      const live = pyS?.[name];
      return [
        name,
        name === "execution" ? "-" : cell(pub),
        cell(live),
        cell(ts[name]),
        ratioFmt(live?.mean / ts[name]?.mean),
        cell(pyS?.[`${name} (cache off)`]),
        cell(ts[`${name} (cache off)`]),
      ];
    }),
    "Fresh inputs per call (no cache-hit confounder) except 'execution (original protocol)', the published script's call: the same input every time, so nearly every call is a cache hit; the published 60.0 µs is that figure. 'cache' is a miss then a hit on a fresh input (published: hit + hit). memory = 50 executes per sample.",
  );
  if (python.live) {
    printTable(
      "Per-step overhead of the Python original through its runner (W1, µs per step)",
      ["N", "no context", "with a context model", "published"],
      [10, 100, 1000].map((n) => [
        n.toLocaleString("en"),
        usFmt(python.w1?.[`w1 N=${n}`]?.us_per_step),
        usFmt(python.w1?.[`w1 N=${n} (context)`]?.us_per_step),
        "65–120 µs per uncached step, 200–460 µs with a context (profiles of ExecutorCore.execute)",
      ]),
    );
  }
}

// ---------------------------------------------------------------- concurrency, one child process per engine × size

function child(engine, k, timeoutMs) {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      ["--expose-gc", "--max-old-space-size=4096", join(here, "concurrency-child.mjs"), engine, String(k)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
      if (err.length > 1e6) err = err.slice(-1e5);
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").at(-1);
      if (code === 0 && line) {
        try {
          return resolve(JSON.parse(line));
        } catch {}
      }
      const oom = /heap out of memory|Allocation failed/i.test(err);
      const reason =
        signal === "SIGKILL"
          ? `timeout after ${timeoutMs / 1000} s`
          : oom
            ? "out of memory (4 GB heap)"
            : `exit ${code ?? signal}: ${err.trim().split("\n").slice(-2).join(" / ").slice(0, 300)}`;
      resolve({ engine, runs: k, failed: reason });
    });
  });
}

if (only.has("concurrency")) {
  const sizes = quick ? [1000] : [1000, 10_000, 100_000];
  const engines = ["floor", "flujo", "langgraph", "mastra"];
  const rows = [];
  for (const engine of engines) {
    let previous;
    for (const k of sizes) {
      if (previous?.failed) {
        rows.push({ engine, runs: k, failed: `not run: failed at ${previous.runs}` });
        continue;
      }
      console.error(`(concurrency: ${engine} × ${k.toLocaleString("en")} ...)`);
      const row = await child(engine, k, k >= 100_000 ? 600_000 : 240_000);
      if (!row.failed && row.completed !== row.runs)
        row.failed = `${row.runs - row.completed} of ${row.runs} runs did not complete${row.firstError ? `: ${row.firstError}` : ""}`;
      rows.push(row);
      previous = row;
    }
  }
  results.concurrency = rows;
  const flujoRow = (k) => rows.find((r) => r.engine === "flujo" && r.runs === k && !r.failed);
  printTable(
    "Concurrency: K runs at once of a 3-step pipeline whose middle step awaits a 1 ms timer (one process per engine × K)",
    [
      "engine",
      "runs",
      "all complete?",
      "runs/s",
      "p50",
      "p95",
      "p99",
      "heap per parked run",
      "heap / flujo",
      "runs/s vs flujo",
    ],
    rows.map((r) => {
      if (r.failed)
        return [r.engine, r.runs.toLocaleString("en"), `no: ${r.failed}`, "-", "-", "-", "-", "-", "-", "-"];
      const f = flujoRow(r.runs);
      return [
        r.engine,
        r.runs.toLocaleString("en"),
        r.completed === r.runs ? "yes" : `${r.completed}`,
        r.runsPerS.toFixed(0),
        msFmt(r.p50Ms),
        msFmt(r.p95Ms),
        msFmt(r.p99Ms),
        r.heapPerParkedRunBytes === undefined
          ? `- ${r.heapError ?? ""}`
          : `${(r.heapPerParkedRunBytes / 1024).toFixed(1)} KB`,
        ratioFmt(r.heapPerParkedRunBytes / f?.heapPerParkedRunBytes),
        ratioFmt(r.runsPerS / f?.runsPerS),
      ];
    }),
    "Latency is from a run's start to its result (the 1 ms timer and the event loop's queue are in it). Heap per parked run: heap used after a forced GC while all runs wait in their middle step, minus before, / runs. Each child has a 4 GB heap and a time limit.",
  );
}

results.failures = failures;
if (Object.keys(failures).length) {
  console.log("\n### Failures\n");
  for (const [k, v] of Object.entries(failures)) console.log(`- ${k}: ${v}`);
}
const base = quick ? "quick" : "latest";
const file = new URL(`./results/${base}.json`, import.meta.url);
const mdFile = new URL(`./results/${base}.md`, import.meta.url);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(mdFile, `${transcript.join("\n")}\n`);
console.error(`\nwritten: ${fileURLToPath(file)} and ${base}.md`);
