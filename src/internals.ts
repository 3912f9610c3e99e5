// Building blocks below the public API, for benchmarks and tools (`import ... from "flujo/internals"`):
// both hot-path backends side by side, the canonical writer, the state codec and context patches.
// Not covered by the API's stability promise.

export { type Backend, CanonicalWriter, encodeCanonical, jsBackend, loadBackend } from "./native/index.js";
export { decodeState, encodeState } from "./state/codec.js";
export { applyPatch, ContextTracker, type Patch } from "./state/patch.js";
