import { ConfigurationError } from "../domain/errors.js";
import type { StateBackend } from "./backend.js";
import { MemoryBackend } from "./memory.js";
import { SQLiteBackend, type SQLiteBackendOptions } from "./sqlite.js";

/** The embedded store the CLI and the examples use. */
export const DEFAULT_STATE_URI = "sqlite:///.flujo/state.db";

/**
 * A state backend from a URI: `memory://`, or `sqlite:///path` (relative to the working directory, so
 * `sqlite:////abs/path` is absolute, as in Flujo and SQLAlchemy). A bare path ending in .db, .sqlite or
 * .sqlite3 is a SQLite file too.
 */
export function stateBackendFromUri(uri: string, options: SQLiteBackendOptions = {}): StateBackend {
  const text = uri.trim();
  if (text === "memory://" || text === "memory") return new MemoryBackend();
  if (text.startsWith("sqlite:///")) {
    const path = text.slice("sqlite:///".length);
    if (path === "")
      throw new ConfigurationError(`State URI '${uri}' names no file: use sqlite:///path/to/state.db`);
    return new SQLiteBackend(path, options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new ConfigurationError(
      `Unsupported state URI '${uri}': use sqlite:///path/to/state.db or memory://`,
    );
  }
  if (/\.(db|sqlite3?)$/i.test(text)) return new SQLiteBackend(text, options);
  throw new ConfigurationError(
    `Unsupported state URI '${uri}': use sqlite:///path/to/state.db, memory://, or a path ending in .db`,
  );
}

/** The backend named by FLUJO_STATE_URI, if it is set. */
export function stateBackendFromEnv(env: NodeJS.ProcessEnv = process.env): StateBackend | undefined {
  const uri = env.FLUJO_STATE_URI;
  return uri === undefined || uri.trim() === "" ? undefined : stateBackendFromUri(uri);
}
