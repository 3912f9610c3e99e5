import { describe, expect, it } from "vitest";
import { backend, hot, nativeLoadError } from "../src/native/index.js";

// Each lane must test the backend it names: a native lane that silently fell back to JS (a stale or
// missing addon) would pass every parity test while testing nothing.
describe("backend guard", () => {
  const lane = process.env.FLUJO_BACKEND;

  it.runIf(lane === "native")("the native lane runs the addon", () => {
    expect(nativeLoadError).toBeUndefined();
    expect(backend).toBe("native");
    expect(hot.kind).toBe("native");
  });

  it.runIf(lane === "js")("the js lane runs the pure-TS backend", () => {
    expect(backend).toBe("js");
    expect(hot.kind).toBe("js");
    expect(nativeLoadError).toBeUndefined();
  });

  it.runIf(lane !== "native" && lane !== "js")("auto reports why it fell back", () => {
    expect(hot.kind).toBe(backend);
    if (backend === "js") expect(nativeLoadError).toBeInstanceOf(Error);
  });
});
