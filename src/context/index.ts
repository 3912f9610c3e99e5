export { canonicalKey, sameData } from "./canonical-key.js";
export { type Isolated, type IsolateOptions, isIsolatedView, isolate, unwrap } from "./cow.js";
export { detectSiblingConflicts, mergeInto } from "./merge.js";
export { getPath, setPath } from "./paths.js";
export { type AppliedOutput, applyOutputToContext, SCRATCHPAD_REMOVED_MESSAGE } from "./updates.js";
