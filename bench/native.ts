/**
 * Native against JS, per hot path and size (100 B to 10 MB of JSON-like data), both backends in one
 * process:
 * - hashing a value canonically: the JS canonical writer + SHA-256 (the JS backend), against
 *   `JSON.stringify` + the addon's `hashJson` (Rust parses, canonicalizes and hashes the text in one
 *   pass), against the same through the JS backend, beside the plain library baseline
 *   `crypto.hash(JSON.stringify)` (not canonical: key order and number forms change the hash);
 * - context change detection for durable state: the JS identity diff (state/patch.ts) after one field
 *   changed, against what any bytes-in native diff must pay before it starts (serializing the context);
 * - the state codec (msgpackr) encode and decode, beside JSON.
 * The crossover (the smallest size where native is faster) is printed for hashing.
 */
import { spawnSync } from "node:child_process";
import { hash as cryptoHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  CanonicalWriter,
  ContextTracker,
  decodeState,
  encodeState,
  jsBackend,
  loadBackend,
} from "flujo/internals";
import { Bench } from "tinybench";
import xxhash from "xxhash-wasm";
import { byName, gc, printTable } from "./stats.js";

const SIZES: Array<[string, number]> = [
  ["100 B", 100],
  ["10 KB", 10 * 1024],
  ["100 KB", 100 * 1024],
  ["1 MB", 1024 * 1024],
  ["10 MB", 10 * 1024 * 1024],
];

type Ctx = Record<string, unknown>;

export interface NativeReport {
  /** Whether the addon was loadable: without it only the JS columns are measured. */
  native: boolean;
  rows: Array<{
    size: string;
    bytes: number;
    /** µs per operation. */
    hashJsUs: number;
    hashNativeUs: number | undefined;
    hashJsonJsUs: number;
    /** hash128 of the value's canonical bytes, already encoded: the engine's cache-key path. */
    sha128JsUs: number;
    sha128NativeUs: number | undefined;
    plainSha256Us: number;
    /** xxhash-wasm's XXH64 of `JSON.stringify` (not canonical): the fastest npm hash over the fastest bytes. */
    xxh64Us: number;
    /** Canonical hash of JSON text that already exists as bytes (no stringify): where Rust works alone. */
    textJsUs: number;
    textNativeUs: number | undefined;
    diffUs: number;
    stringifyUs: number;
    encodeUs: number;
    decodeUs: number;
    jsonParseUs: number;
  }>;
  /** Smallest size at which native hashing beats the JS backend's, or undefined. */
  hashCrossover: string | undefined;
  /** The same for JSON text already in bytes. */
  textCrossover: string | undefined;
  /** The durable-state scenario (100 steps, ~100 KB context, SQLite, default settings) per backend. */
  durable: { jsUs: number; nativeUs: number | undefined } | undefined;
}

/** A context-like value of about `bytes` of JSON: records with text, numbers and a nested list. */
function value(bytes: number): Ctx {
  const records: Ctx = {};
  const record = { id: 0, title: "x".repeat(40), score: 0.5, tags: ["a", "b"], done: false };
  const each = JSON.stringify({ k0000000: record }).length;
  const n = Math.max(1, Math.round(bytes / each));
  for (let i = 0; i < n; i++) records[`k${String(i).padStart(7, "0")}`] = { ...record, id: i, score: i / n };
  return { runId: "run_bench", status: "running", records };
}

export async function nativeBench(time: number): Promise<NativeReport> {
  let native: ReturnType<typeof loadBackend>["hot"] | undefined;
  try {
    native = loadBackend("native").hot;
  } catch {
    native = undefined;
  }
  const rows: NativeReport["rows"] = [];
  const canonicalSizes: number[] = [];
  const writer = new CanonicalWriter();
  const { h64ToString } = await xxhash();
  for (const [label, size] of SIZES) {
    const v = value(size);
    const json = JSON.stringify(v);
    const text = new TextEncoder().encode(json);
    const bytes = text.length;
    // Both backends agree on the hash (the differential tests pin this; checked here once per size).
    writer.reset();
    writer.writeValue(v);
    const expected = jsBackend.hash128(writer.bytes());
    if (jsBackend.hashJson(text) !== expected || (native !== undefined && native.hashJson(text) !== expected))
      throw new Error(`native bench: the backends disagree on the ${label} hash`);
    const encoded = encodeState(v, "bench");
    const canonical = writer.bytes().slice();
    canonicalSizes.push(canonical.length);
    const ctx: Ctx = { ...v };
    const tracker = new ContextTracker(ctx);
    let tick = 0;

    // Large values take long per iteration; keep the number of iterations sensible at 10 MB.
    const bench = new Bench({
      time: size >= 1024 * 1024 ? time * 2 : time,
      warmupTime: Math.min(100, time / 4),
    });
    bench
      .add("hash js", () => {
        writer.reset();
        writer.writeValue(v);
        jsBackend.hash128(writer.bytes());
      })
      .add("hashJson js", () => {
        jsBackend.hashJson(new TextEncoder().encode(JSON.stringify(v)));
      })
      .add("plain sha256", () => {
        cryptoHash("sha256", JSON.stringify(v), "hex");
      })
      .add("xxh64", () => {
        h64ToString(JSON.stringify(v));
      })
      .add("text js", () => {
        jsBackend.hashJson(text);
      })
      .add("diff", () => {
        // One step's change: a top-level field, as the recorder sees after each step.
        ctx.status = tick++ % 2 === 0 ? "running" : "paused";
        tracker.diff();
      })
      .add("stringify", () => {
        JSON.stringify(ctx);
      })
      .add("encode", () => {
        encodeState(v, "bench");
      })
      .add("decode", () => {
        decodeState(encoded, "bench");
      })
      .add("JSON.parse", () => {
        JSON.parse(json);
      });
    bench.add("sha128 js", () => {
      jsBackend.hash128(canonical);
    });
    if (native !== undefined) {
      const hot = native;
      bench
        .add("hash native", () => {
          hot.hashJson(new TextEncoder().encode(JSON.stringify(v)));
        })
        .add("sha128 native", () => {
          hot.hash128(canonical);
        })
        .add("text native", () => {
          hot.hashJson(text);
        });
    }
    gc();
    await bench.run();
    tracker.stop();
    const f = byName(bench);
    const us = (name: string) => f.get(name)!.mean * 1000;
    rows.push({
      size: label,
      bytes,
      hashJsUs: us("hash js"),
      hashNativeUs: native === undefined ? undefined : us("hash native"),
      hashJsonJsUs: us("hashJson js"),
      sha128JsUs: us("sha128 js"),
      sha128NativeUs: native === undefined ? undefined : us("sha128 native"),
      plainSha256Us: us("plain sha256"),
      xxh64Us: us("xxh64"),
      textJsUs: us("text js"),
      textNativeUs: native === undefined ? undefined : us("text native"),
      diffUs: us("diff"),
      stringifyUs: us("stringify"),
      encodeUs: us("encode"),
      decodeUs: us("decode"),
      jsonParseUs: us("JSON.parse"),
    });
  }
  const crossover = rows.find((r) => r.hashNativeUs !== undefined && r.hashNativeUs < r.hashJsUs)?.size;
  const textCrossover = rows.find((r) => r.textNativeUs !== undefined && r.textNativeUs < r.textJsUs)?.size;
  const fmt = (v: number | undefined) =>
    v === undefined ? "-" : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(2)} µs`;
  const ratio = (js: number, nat: number | undefined) =>
    nat === undefined ? "-" : `${(js / nat).toFixed(2)}x faster`;
  printTable(
    "Native against JS: canonical hash of a value (µs per value; native = JSON.stringify + Rust parse, canonicalize and hash)",
    [
      "size",
      "JSON bytes",
      "JS backend",
      "native",
      "native/JS",
      "best native could do (JS / stringify alone)",
      "sha256 (node:crypto) of stringify, not canonical",
      "xxh64 (xxhash-wasm) of stringify, not canonical",
    ],
    rows.map((r) => [
      r.size,
      String(r.bytes),
      fmt(r.hashJsUs),
      fmt(r.hashNativeUs),
      ratio(r.hashJsUs, r.hashNativeUs),
      `${(r.hashJsUs / r.stringifyUs).toFixed(2)}x`,
      fmt(r.plainSha256Us),
      fmt(r.xxh64Us),
    ]),
  );
  printTable(
    "Native against JS: canonical hash of JSON text already in bytes (no stringify; µs per text)",
    [
      "size",
      "JSON bytes",
      "JS backend (JSON.parse + canonical writer)",
      "native (one Rust pass)",
      "native/JS",
    ],
    rows.map((r) => [
      r.size,
      String(r.bytes),
      fmt(r.textJsUs),
      fmt(r.textNativeUs),
      ratio(r.textJsUs, r.textNativeUs),
    ]),
  );
  // `auto` binds the addon when it loads, so on the cache-key path auto is the native column.
  printTable(
    "Native against JS: hash128 of canonical bytes already encoded (the cache-key path; µs per call)",
    [
      "size",
      "canonical bytes",
      "JS (node:crypto)",
      "native (Rust sha2)",
      "native/JS",
      "auto against the faster",
    ],
    rows.map((r, i) => [
      r.size,
      String(canonicalSizes[i]),
      fmt(r.sha128JsUs),
      fmt(r.sha128NativeUs),
      ratio(r.sha128JsUs, r.sha128NativeUs),
      r.sha128NativeUs === undefined
        ? "-"
        : `${(((r.sha128NativeUs - Math.min(r.sha128JsUs, r.sha128NativeUs)) / Math.min(r.sha128JsUs, r.sha128NativeUs)) * 100).toFixed(1)}% slower`,
    ]),
  );
  printTable(
    "Context change detection for durable state, and the state codec (msgpackr) (µs per operation)",
    [
      "size",
      "JS identity diff, one field changed",
      "JSON.stringify (a bytes-in diff's input)",
      "encode",
      "decode",
      "JSON.parse",
    ],
    rows.map((r) => [
      r.size,
      fmt(r.diffUs),
      fmt(r.stringifyUs),
      fmt(r.encodeUs),
      fmt(r.decodeUs),
      fmt(r.jsonParseUs),
    ]),
  );
  const durable = durableByBackend(time, native !== undefined);
  if (durable !== undefined)
    printTable(
      "Durable state by backend: 100 steps over a ~100 KB context on SQLite, default settings (µs per step; one process per backend, alternated twice)",
      ["FLUJO_BACKEND=js", "FLUJO_BACKEND=native", "native/js"],
      [[fmt(durable.jsUs), fmt(durable.nativeUs), ratio(durable.jsUs, durable.nativeUs)]],
    );
  const none = native === undefined ? "addon not loaded" : undefined;
  console.log(
    `\nhash crossover (a value): ${none ?? crossover ?? "native is not faster at any size measured"}; (JSON text in bytes): ${none ?? textCrossover ?? "native is not faster at any size measured"}.` +
      "\nThe engine hashes values with the JS writer and diffs contexts in JS: producing the bytes a native path needs (JSON.stringify) costs more than the JS work it would replace.",
  );
  return { native: native !== undefined, rows, hashCrossover: crossover, textCrossover, durable };
}

/** Runs bench/durable-lane.ts once per backend, twice, alternating (the backend is bound at module load). */
function durableByBackend(time: number, withNative: boolean): NativeReport["durable"] {
  const lane = fileURLToPath(new URL("./durable-lane.ts", import.meta.url));
  const figures: Record<string, number[]> = { js: [], native: [] };
  const lanes = withNative ? ["js", "native", "js", "native"] : ["js"];
  for (const kind of lanes) {
    const run = spawnSync(process.execPath, ["--import", "tsx", lane], {
      env: { ...process.env, FLUJO_BACKEND: kind, BENCH_TIME: String(time) },
      encoding: "utf8",
    });
    if (run.status !== 0) throw new Error(`native bench: the ${kind} durable lane failed:\n${run.stderr}`);
    const out = JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as {
      backend: string;
      usPerStep: number;
    };
    if (out.backend !== kind) throw new Error(`native bench: the ${kind} lane ran on ${out.backend}`);
    figures[kind].push(out.usPerStep);
  }
  const mean = (xs: number[]) => (xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length);
  return { jsUs: mean(figures.js) ?? Number.NaN, nativeUs: mean(figures.native) };
}
