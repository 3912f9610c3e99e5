export type { Backend, BackendKind } from "./backend.js";
export { ABI_VERSION } from "./backend.js";
export { canonicalHash, canonicalHashJson } from "./hash.js";
export {
  CanonicalWriter,
  encodeCanonical,
  MAX_DEPTH,
  NotEncodableError,
  type NotEncodableKind,
} from "./js/canonical.js";
export { jsBackend } from "./js/jsBackend.js";
export { type BackendMode, backend, hot, loadBackend, nativeLoadError, parseBackendMode } from "./loader.js";
