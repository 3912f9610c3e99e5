import { describe, expect, it } from "vitest";
import { backend, hot, nativeLoadError } from "../src/native/index.js";

// Each lane must test the backend it names: a native lane that silently fell back to JS (a stale or
// missing addon) would pass every parity test while testing nothing.
describe("backend guard", () => {
  const lane = process.env.FLUJO_BACKEND;

  // One test whose assertions follow the lane, so no lane reports a skipped guard.
  it("the lane runs the backend it names", () => {
    expect(hot.kind).toBe(backend);
    if (lane === "native") {
      expect(nativeLoadError).toBeUndefined();
      expect(backend).toBe("native");
    } else if (lane === "js") {
      expect(backend).toBe("js");
      expect(nativeLoadError).toBeUndefined();
    } else if (backend === "js") {
      // auto: a fallback must say why.
      expect(nativeLoadError).toBeInstanceOf(Error);
    }
  });
});
