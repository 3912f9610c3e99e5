import { ConfigurationError } from "../domain/errors.js";

/** Where in a pipeline file a problem is: 1-based line and column, and the YAML path of the key. */
export interface SourceLocation {
  file: string;
  line: number | undefined;
  column: number | undefined;
  /** e.g. "steps[1].loop.exit_expression" */
  key: string | undefined;
}

/** A pipeline file that cannot be loaded: bad YAML, an unknown kind or key, a bad expression. */
export class BlueprintError extends ConfigurationError {
  readonly location: SourceLocation;
  /** The message without the location prefix. */
  readonly detail: string;
  constructor(
    detail: string,
    location: SourceLocation,
    options: { cause?: unknown; suggestion?: string } = {},
  ) {
    super(`${formatLocation(location)}: ${detail}`, options);
    this.detail = detail;
    this.location = location;
  }
}

/** A `uses` that cannot be imported: a missing file or export, or a path outside the allowed roots. */
export class BlueprintImportError extends BlueprintError {}

export function formatLocation(loc: SourceLocation): string {
  let text = loc.file;
  if (loc.line !== undefined) text += `:${loc.line}${loc.column === undefined ? "" : `:${loc.column}`}`;
  if (loc.key !== undefined && loc.key !== "") text += ` (${loc.key})`;
  return text;
}

/** "steps[1].loop.body" from ["steps", 1, "loop", "body"]. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}
