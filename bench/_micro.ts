import { createHash } from "node:crypto";
import { Bench } from "tinybench";
import { cacheKey } from "../src/cache/key.js";
import { freezeForCache } from "../src/cache/snapshot.js";
import { stepResult } from "../src/domain/results.js";
import { Step } from "../src/index.js";
import { CanonicalWriter, hot, jsBackend } from "../src/native/index.js";

const s = Step.fromCallable(async (x: unknown) => x, { name: "s1" });
const w = new CanonicalWriter();
const b = new Bench({ time: 300 });
let i = 0;
const buf = new Uint8Array(40);
b.add("cacheKey num", () => cacheKey(s, i++))
  .add("cacheKey obj", () => cacheKey(s, { test: i++ }))
  .add("encode num", () => {
    w.reset();
    w.writeValue("abcdefabcdefabcdefabcdefabcdefab");
    w.writeValue(i++);
    return w.bytes();
  })
  .add("hot.hash128 40B", () => hot.hash128(buf))
  .add("js.hash128 40B", () => jsBackend.hash128(buf))
  .add("createHash 40B", () => createHash("sha256").update(buf).digest("hex"))
  .add("freeze", () => freezeForCache(stepResult("s", { output: i++ })))
  .add("perfnow", () => performance.now());
await b.run();
console.table(b.table());
