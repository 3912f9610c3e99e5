import type { StateBackend } from "../state/backend.js";
import { DEFAULT_STATE_URI, stateBackendFromUri } from "../state/uri.js";

/** The state store of a command: --state-uri, else FLUJO_STATE_URI, else `.flujo/state.db` here. */
export function openState(uri: string | undefined): StateBackend {
  const env = process.env.FLUJO_STATE_URI;
  return stateBackendFromUri(uri ?? (env !== undefined && env.trim() !== "" ? env : DEFAULT_STATE_URI));
}
