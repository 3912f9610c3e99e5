/**
 * Figures of a tinybench task, in milliseconds per operation, with the field names the issue asks for
 * (mean/median/p95/p99/min/max/iterations as in Flujo's validation JSON, plus memory and throughput).
 * `memory` is what `memoryHooks` saw around the timed loop; throughput is 1000 / mean, in runs per second
 * (tinybench's own throughput is the mean of per-sample rates, which a few fast outliers inflate).
 */
export function figures(task, memory) {
  const r = task.result;
  if (r.state !== "completed") {
    const why = r.state === "errored" ? `: ${r.error?.message ?? r.error}` : "";
    throw new Error(`benchmark '${task.name}' did not complete (${r.state}${why})`);
  }
  const l = r.latency;
  return {
    mean: l.mean,
    median: l.p50,
    // tinybench reports p50/p75/p99/p995/p999; p95 from the samples when they are kept, else interpolated.
    p95: percentile(l.samples, 0.95) ?? l.p75 + ((l.p99 - l.p75) * 20) / 24,
    p99: l.p99,
    min: l.min,
    max: l.max,
    iterations: l.samplesCount ?? l.samples?.length ?? 0,
    memory: memory ?? null,
    throughput: 1000 / l.mean,
  };
}

const MB = 2 ** 20;

/**
 * tinybench task hooks that take the RSS and heap-used delta around the timed loop, after a GC before it
 * (Flujo's validation script took the psutil RSS delta around its loop the same way). Deltas, not a
 * retained-memory figure: they include garbage not yet collected, so they say how hard a task works the
 * allocator, not how much it keeps. The warm-up loop calls the hooks too, with mode "warmup": ignored.
 */
export function memoryHooks() {
  let before;
  let seen;
  return {
    hooks: {
      beforeAll: (mode) => {
        if (mode !== "run") return;
        gc();
        before = process.memoryUsage();
      },
      afterAll: (mode) => {
        if (mode !== "run" || !before) return;
        const after = process.memoryUsage();
        seen = {
          rssDeltaMb: (after.rss - before.rss) / MB,
          heapUsedDeltaMb: (after.heapUsed - before.heapUsed) / MB,
        };
      },
    },
    read: () => seen,
  };
}

function percentile(samples, q) {
  if (!Array.isArray(samples) || samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** µs with a precision that suits the size. */
export function usFmt(us) {
  if (us === undefined || Number.isNaN(us)) return "-";
  if (us >= 1000) return `${us.toFixed(0)} µs`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  return `${us.toFixed(2)} µs`;
}

export function msFmt(ms) {
  if (ms === undefined || Number.isNaN(ms)) return "-";
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

export function ratioFmt(x) {
  if (x === undefined || !Number.isFinite(x)) return "-";
  if (x >= 10) return `${x.toFixed(0)}x`;
  // Two significant digits below 0.1, or a peer at 1/40 of flujo's throughput would print as "0.0x".
  return x >= 0.1 ? `${x.toFixed(1)}x` : `${x.toPrecision(2)}x`;
}

/** Prints a Markdown table with aligned columns. */
export function printTable(title, header, rows, note) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? "").length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c ?? "").padEnd(widths[i])).join(" | ")} |`;
  console.log(`\n### ${title}\n`);
  if (note) console.log(`${note}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
}

export function gc() {
  globalThis.gc?.();
}
