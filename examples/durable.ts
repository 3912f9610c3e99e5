// A durable approval pipeline on the embedded SQLite store: the run pauses for a human, the process can
// exit, and the run is answered by id later (here, by a second runner over the same file). A cached step
// keeps its result in the same file, so a restart does not pay for it again.
// Run it: npx tsx examples/durable.ts [path/to/state.db]   (default: .flujo/state.db)
import { Flujo, pipeline, SQLiteBackend, SQLiteCache, Step } from "../src/index.js";

let summaries = 0;
// An "LLM" call worth caching across restarts.
const summarize = Step.fromCallable(
  async (text: string) => {
    summaries++;
    return { output: `summary of ${text.length} chars`, costUsd: 0.01, tokenCounts: 300 };
  },
  { name: "summarize" },
);

function build(state: SQLiteBackend): Flujo {
  return new Flujo(
    pipeline(
      Step.cached(summarize, { backend: new SQLiteCache(state) }),
      Step.humanInTheLoop({ name: "approve", messageForUser: "Publish this summary?" }),
      Step.fromCallable(
        async (answer: unknown, { context }) =>
          `${String(answer)}: ${String((context.stepOutputs as Record<string, unknown>).summarize)}`,
        {
          name: "publish",
        },
      ),
    ),
    { stateBackend: state, pipelineName: "approval" },
  );
}

export async function main(path = ".flujo/state.db"): Promise<unknown> {
  const runId = `approval-${Date.now()}`;
  const first = new SQLiteBackend(path);
  const paused = await build(first).run("A long report ".repeat(50), { runId });
  const fromCache = paused.stepHistory[0].metadata.cacheHit === true;
  console.log(
    `run ${runId}: ${paused.status} at '${String(paused.finalPipelineContext?.pauseMessage)}' (summary ${fromCache ? "from the cache" : "computed"})`,
  );
  first.close(); // the process could exit here

  const later = new SQLiteBackend(path);
  const done = await build(later).resume(runId, "yes");
  const stored = await later.loadState(runId);
  console.log(
    `run ${runId}: ${done.status}, output '${String(done.output)}', ${stored?.steps.length} step rows stored`,
  );
  later.close();
  return { status: done.status, output: done.output, fromCache, summaries };
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv[2]);
