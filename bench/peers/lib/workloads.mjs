/**
 * The shared workloads of docs/peers.md §8.2, built for each engine through its public API. Every builder
 * returns `{ run(i), check(output, i) }`: `run` does one whole run on input `i` (a fresh run id / thread
 * id each time where a store is involved) and resolves to what `check` reads; `check` returns an error
 * message when the run's result is not what the workload says (so a broken adapter cannot post a fast
 * figure), else undefined. Steps add 1 to a number, so a run of N steps on `i` must end on `i + N`.
 */
import { join } from "node:path";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { Mastra } from "@mastra/core";
import { createStep, createWorkflow } from "@mastra/core/workflows";
import { LibSQLStore } from "@mastra/libsql";
import { Flujo, pipeline, SQLiteBackend, Step } from "flujo";
import { z } from "zod";

const inc = async (x) => x + 1;

// ---------------------------------------------------------------- W1: N sequential no-op steps

export function floorW1(n) {
  const fns = Array.from({ length: n }, () => async (x) => x + 1);
  return {
    run: async (i) => {
      let v = i;
      for (const f of fns) v = await f(v);
      return v;
    },
    check: (v, i) => (v === i + n ? undefined : `floor ended on ${v}, expected ${i + n}`),
  };
}

function flujoSteps(n) {
  return Array.from({ length: n }, (_, k) => Step.fromCallable(inc, { name: `s${k}` }));
}

function checkFlujo(n, extra) {
  return (r, i) => {
    if (!r.success) return `flujo run failed: ${r.stepHistory.at(-1)?.feedback}`;
    if (r.stepHistory.length !== n) return `flujo ran ${r.stepHistory.length} steps, expected ${n}`;
    if (r.output !== i + n) return `flujo ended on ${r.output}, expected ${i + n}`;
    return extra?.(r, i);
  };
}

/** flujo's W1: `options` are FlujoOptions ({ enableCache: false } or {} for the defaults). */
export function flujoW1(n, options) {
  const runner = new Flujo(pipeline(...flujoSteps(n)), options);
  return { run: (i) => runner.run(i), check: checkFlujo(n) };
}

const NumState = Annotation.Root({ v: Annotation() });

function lgSequence(n, checkpointer) {
  const g = new StateGraph(NumState);
  for (let k = 0; k < n; k++) g.addNode(`s${k}`, async (s) => ({ v: s.v + 1 }));
  g.addEdge(START, "s0");
  for (let k = 1; k < n; k++) g.addEdge(`s${k - 1}`, `s${k}`);
  g.addEdge(`s${n - 1}`, END);
  return g.compile(checkpointer ? { checkpointer } : {});
}

/** LangGraph's `sequential_N`: N nodes in a line, each a superstep; recursionLimit lifted as its bench does. */
export function langgraphW1(n) {
  const graph = lgSequence(n);
  return {
    run: (i) => graph.invoke({ v: i }, { recursionLimit: 1e9 }),
    check: (s, i) => (s?.v === i + n ? undefined : `langgraph ended on ${s?.v}, expected ${i + n}`),
  };
}

function mastraSequence(id, n) {
  let wf = createWorkflow({ id, inputSchema: z.number(), outputSchema: z.number() });
  for (let k = 0; k < n; k++)
    wf = wf.then(
      createStep({
        id: `s${k}`,
        inputSchema: z.number(),
        outputSchema: z.number(),
        execute: ({ inputData }) => inc(inputData),
      }),
    );
  return wf.commit();
}

function checkMastra(n) {
  return (r, i) => {
    if (r?.status !== "success") return `mastra run ${r?.status}: ${r?.error?.message ?? r?.error}`;
    if (r.result !== i + n) return `mastra ended on ${r.result}, expected ${i + n}`;
    return undefined;
  };
}

/** Mastra's W1: `.then` N times, run in process with no storage (createRun + start per run). */
export function mastraW1(n) {
  const wf = mastraSequence(`w1-${n}`, n);
  return {
    run: async (i) => (await wf.createRun()).start({ inputData: i }),
    check: checkMastra(n),
  };
}

// ---------------------------------------------------------------- W2: fan-out to K branches, then a join

function expectList(list, k, who) {
  if (!Array.isArray(list)) return `${who}: the join did not see a list`;
  if (list.length !== k) return `${who}: the list has ${list.length} entries, expected ${k}`;
  if (new Set(list).size !== k) return `${who}: the list has duplicates`;
  return undefined;
}

/** The physical floor of W2: a source, a bare Promise.all of K functions that each append, a join. */
export function floorW2(k) {
  const branches = Array.from({ length: k }, (_, b) => async (items, x) => {
    items.push(`b${b}`);
    return x;
  });
  const source = async (x) => x;
  const joinFn = async (items) => items;
  return {
    run: async (i) => {
      const items = [];
      const x = await source(i);
      await Promise.all(branches.map((f) => f(items, x)));
      return joinFn(items);
    },
    check: (list) => expectList(list, k, "floor"),
  };
}

/**
 * flujo's W2: source, Step.parallel of K branches that each push to the context's `items` list (merged
 * back by the default CONTEXT_UPDATE strategy, which appends what a list lacks), then a join that reads
 * the list.
 */
export function flujoW2(k, options) {
  const branches = {};
  for (let b = 0; b < k; b++)
    branches[`b${b}`] = Step.fromCallable(
      async (x, o) => {
        o.context.items.push(`b${b}`);
        return x;
      },
      { name: `b${b}` },
    );
  const runner = new Flujo(
    pipeline(
      Step.fromCallable(async (x) => x, { name: "source" }),
      Step.parallel({ name: "fan", branches }),
      Step.fromCallable(async (_x, o) => o.context.items.slice(), { name: "join" }),
    ),
    { ...options, initialContextData: { items: [] } },
  );
  return {
    run: (i) => runner.run(i),
    check: (r) =>
      r.success ? expectList(r.output, k, "flujo") : `flujo run failed: ${r.stepHistory.at(-1)?.feedback}`,
  };
}

const ListState = Annotation.Root({
  items: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
  x: Annotation(),
  out: Annotation(),
});

/** LangGraph's W2: source -> K nodes (one superstep) writing to a concat-reducer channel -> barrier join. */
export function langgraphW2(k) {
  const g = new StateGraph(ListState).addNode("source", async (s) => ({ x: s.x }));
  const names = [];
  for (let b = 0; b < k; b++) {
    names.push(`b${b}`);
    g.addNode(`b${b}`, async () => ({ items: [`b${b}`] }));
  }
  g.addNode("join", async (s) => ({ out: s.items.slice() }));
  g.addEdge(START, "source");
  for (const b of names) g.addEdge("source", b);
  g.addEdge(names, "join");
  g.addEdge("join", END);
  const graph = g.compile();
  return {
    run: (i) => graph.invoke({ x: i }),
    check: (s) => expectList(s?.out, k, "langgraph"),
  };
}

/**
 * Mastra's W2: source, `.parallel` of K steps, then a join. Mastra merges the `setState` of parallel
 * branches with a shallow Object.assign (last writer wins: 1 of K appends survives, see mastraStateW2), so
 * each branch returns its entry and the join builds the list from the `{ [stepId]: output }` map, which
 * is how Mastra passes parallel results on.
 */
export function mastraW2(k) {
  const source = createStep({
    id: "source",
    inputSchema: z.number(),
    outputSchema: z.number(),
    execute: async ({ inputData }) => inputData,
  });
  const branches = Array.from({ length: k }, (_, b) =>
    createStep({
      id: `b${b}`,
      inputSchema: z.number(),
      outputSchema: z.string(),
      execute: async () => `b${b}`,
    }),
  );
  const joinStep = createStep({
    id: "join",
    inputSchema: z.record(z.string(), z.string()),
    outputSchema: z.array(z.string()),
    execute: async ({ inputData }) => Object.values(inputData),
  });
  const wf = createWorkflow({ id: `w2-${k}`, inputSchema: z.number(), outputSchema: z.array(z.string()) })
    .then(source)
    .parallel(branches)
    .then(joinStep)
    .commit();
  return {
    run: async (i) => (await wf.createRun()).start({ inputData: i }),
    check: (r) =>
      r?.status === "success"
        ? expectList(r.result, k, "mastra")
        : `mastra run ${r?.status}: ${r?.error?.message ?? r?.error}`,
  };
}

/** W2 the literal way in Mastra (each branch appends to a list in workflow state): how many appends survive. */
export async function mastraStateW2(k) {
  const stateSchema = z.object({ items: z.array(z.string()) });
  const source = createStep({
    id: "source",
    inputSchema: z.number(),
    outputSchema: z.number(),
    stateSchema,
    execute: async ({ inputData }) => inputData,
  });
  const branches = Array.from({ length: k }, (_, b) =>
    createStep({
      id: `b${b}`,
      inputSchema: z.number(),
      outputSchema: z.string(),
      stateSchema,
      execute: async ({ state, setState }) => {
        await setState({ items: [...state.items, `b${b}`] });
        return `b${b}`;
      },
    }),
  );
  const joinStep = createStep({
    id: "join",
    inputSchema: z.record(z.string(), z.string()),
    outputSchema: z.number(),
    stateSchema,
    execute: async ({ state }) => state.items.length,
  });
  const wf = createWorkflow({
    id: `w2-state-${k}`,
    inputSchema: z.number(),
    outputSchema: z.number(),
    stateSchema,
  })
    .then(source)
    .parallel(branches)
    .then(joinStep)
    .commit();
  const r = await (await wf.createRun()).start({ inputData: 0, initialState: { items: [] } });
  return r.status === "success" ? r.result : `${r.status}`;
}

// ---------------------------------------------------------------- W3: W1 with a file SQLite store

/** Runs kept in a store before the oldest is deleted (outside the timed call, in tinybench's afterEach). */
const KEEP = 20;

function bounded(remove) {
  const kept = [];
  return {
    add: (id) => kept.push(id),
    trim: async () => {
      while (kept.length > KEEP) await remove(kept.shift());
    },
  };
}

let serial = 0;
const freshId = (prefix) => `${prefix}-${process.pid}-${++serial}`;

/** flujo's W3: SQLiteBackend on `dir`/flujo-*.db; `durability` is SQLiteBackend's option. */
export function flujoW3(n, dir, durability, options) {
  const store = new SQLiteBackend(join(dir, `flujo-${durability}-${n}.db`), { durability });
  const runner = new Flujo(pipeline(...flujoSteps(n)), { ...options, stateBackend: store });
  const runs = bounded((id) => store.deleteState(id));
  let lastId;
  return {
    run: (i) => {
      lastId = freshId("run");
      runs.add(lastId);
      return runner.run(i, { runId: lastId });
    },
    check: checkFlujo(n, async () =>
      (await store.loadState(lastId)) ? undefined : "flujo: the run is not in the store",
    ),
    afterEach: runs.trim,
    close: async () => store.close(),
  };
}

/** LangGraph's W3: SqliteSaver on `dir`/lg-*.db; `durability` is "sync" | "async" | "exit". */
export function langgraphW3(n, dir, durability) {
  const saver = SqliteSaver.fromConnString(join(dir, `lg-${durability}-${n}.db`));
  const graph = lgSequence(n, saver);
  const threads = bounded((id) => saver.deleteThread(id));
  let lastId;
  return {
    run: (i) => {
      lastId = freshId("thread");
      threads.add(lastId);
      return graph.invoke({ v: i }, { configurable: { thread_id: lastId }, durability, recursionLimit: 1e9 });
    },
    check: async (s, i) => {
      if (s?.v !== i + n) return `langgraph ended on ${s?.v}, expected ${i + n}`;
      const tuple = await saver.getTuple({ configurable: { thread_id: lastId } });
      return tuple?.checkpoint?.channel_values?.v === i + n
        ? undefined
        : "langgraph: the final state is not in the checkpointer";
    },
    afterEach: threads.trim,
    close: async () => saver.db.close(),
  };
}

/** Mastra's W3: a Mastra instance with a LibSQLStore on a `file:` URL; runs created with a fresh runId. */
export async function mastraW3(n, dir) {
  const storage = new LibSQLStore({ id: `bench-${n}`, url: `file:${join(dir, `mastra-${n}.db`)}` });
  const mastra = new Mastra({ workflows: { w3: mastraSequence(`w3-${n}`, n) }, storage, logger: false });
  const wf = mastra.getWorkflow("w3");
  const runs = bounded((id) => wf.deleteWorkflowRunById(id));
  let lastId;
  const check = checkMastra(n);
  return {
    run: async (i) => {
      lastId = freshId("run");
      runs.add(lastId);
      return (await wf.createRun({ runId: lastId })).start({ inputData: i });
    },
    check: async (r, i) => {
      const err = check(r, i);
      if (err) return err;
      const stored = await wf.getWorkflowRunById(lastId);
      return stored ? undefined : "mastra: the run is not in the store";
    },
    afterEach: runs.trim,
    close: async () => storage.close(),
  };
}
