/**
 * Flujo's `{{ }}` templates (flujo/utils/prompting.py, AdvancedPromptFormatter), without `{{#if}}` and
 * `{{#each}}` blocks: a placeholder is `{{ a or b or 'literal' | filter | filter(arg) }}`, where each
 * candidate is a value of the expression language (attribute and index access on the template names),
 * the first that is not empty wins, and the filters are Flujo's (upper, lower, length, join, tojson,
 * default). Parsed once, when the YAML is loaded, so a bad template is reported with its file and line.
 */
import {
  ExpressionError,
  evaluate,
  type Node,
  parseExpression,
  type Scope,
  ScopeProxy,
} from "./expression.js";

export const TEMPLATE_NAMES: ReadonlySet<string> = new Set([
  "previous_step",
  "output",
  "context",
  "steps",
  "resume_input",
  "this",
]);

const FILTERS: ReadonlySet<string> = new Set(["upper", "lower", "length", "join", "tojson", "default"]);
const MAX_TEMPLATE_LENGTH = 100_000;

interface Filter {
  name: string;
  arg: string | undefined;
}

type Part = string | { candidates: Node[]; filters: Filter[] };

export interface CompiledTemplate {
  readonly source: string;
  render(scope: Scope): string;
}

/** True when the text has a `{{` placeholder (plain strings are passed through as they are). */
export function isTemplate(text: string): boolean {
  return text.includes("{{");
}

export function compileTemplate(source: string): CompiledTemplate {
  if (source.length > MAX_TEMPLATE_LENGTH) {
    throw new ExpressionError(`template is longer than ${MAX_TEMPLATE_LENGTH} characters`);
  }
  const parts: Part[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf("{{", i);
    if (open < 0) {
      parts.push(source.slice(i));
      break;
    }
    if (open > i) parts.push(source.slice(i, open));
    const close = source.indexOf("}}", open + 2);
    if (close < 0) throw new ExpressionError("unterminated '{{' in template", open);
    const inner = source.slice(open + 2, close).trim();
    if (inner.startsWith("#") || inner.startsWith("/")) {
      throw new ExpressionError(`template blocks ({{${inner}}}) are not supported`, open);
    }
    parts.push(compilePlaceholder(inner, open));
    i = close + 2;
  }
  const frozen = Object.freeze(parts);
  return Object.freeze({ source, render: (scope: Scope) => render(frozen, scope) });
}

function compilePlaceholder(inner: string, offset: number): Part {
  if (inner === "") throw new ExpressionError("empty '{{ }}' placeholder", offset);
  const [base, ...filterTexts] = splitOutsideQuotes(inner, "|");
  const candidates = splitOr(base as string).map((c) => {
    try {
      return parseExpression(c, TEMPLATE_NAMES);
    } catch (err) {
      if (err instanceof ExpressionError) {
        throw new ExpressionError(`in '{{ ${inner} }}': ${err.message}`, offset);
      }
      throw err;
    }
  });
  const filters = filterTexts.map((text) => {
    const m = /^\s*([A-Za-z_]+)\s*(?:\(\s*(.*?)\s*\))?\s*$/s.exec(text);
    if (m === null) throw new ExpressionError(`bad filter '${text.trim()}' in '{{ ${inner} }}'`, offset);
    const name = (m[1] as string).toLowerCase();
    if (!FILTERS.has(name)) {
      throw new ExpressionError(
        `Unknown template filter: ${m[1]} (known: ${[...FILTERS].join(", ")})`,
        offset,
      );
    }
    let arg = m[2];
    if (arg !== undefined && arg.length >= 2 && (arg[0] === '"' || arg[0] === "'") && arg.endsWith(arg[0])) {
      arg = arg.slice(1, -1);
    }
    return { name, arg: arg === "" ? undefined : arg };
  });
  return { candidates, filters };
}

/** Flujo's fallback syntax `a or b`: candidates split on the word `or` outside quotes. */
function splitOr(text: string): string[] {
  return splitOutsideQuotes(text, " or ").map((s) => s.trim());
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== undefined) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (text.startsWith(sep, i)) {
      out.push(text.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function render(parts: readonly Part[], scope: Scope): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    let value: unknown = null;
    for (const candidate of part.candidates) {
      const v = unwrap(evaluate(candidate, scope));
      if (v !== null && v !== undefined && serialize(v) !== "") {
        value = v;
        break;
      }
    }
    for (const filter of part.filters) value = applyFilter(value, filter);
    out += serialize(value);
  }
  return out;
}

function unwrap(value: unknown): unknown {
  return value instanceof ScopeProxy ? value.unwrap() : value;
}

function applyFilter(value: unknown, filter: Filter): unknown {
  switch (filter.name) {
    case "upper":
      return serialize(value).toUpperCase();
    case "lower":
      return serialize(value).toLowerCase();
    case "default":
      return value === null ||
        value === undefined ||
        value === "" ||
        (Array.isArray(value) && value.length === 0)
        ? (filter.arg ?? "")
        : value;
    case "length":
      if (typeof value === "string" || Array.isArray(value)) return value.length;
      if (typeof value === "object" && value !== null) return Object.keys(value).length;
      return 0;
    case "tojson":
      return safeJson(value ?? null);
    case "join":
      return Array.isArray(value) ? value.map((x) => serialize(x)).join(filter.arg ?? "") : serialize(value);
    default:
      throw new ExpressionError(`Unknown template filter: ${filter.name}`);
  }
}

/** How a value is written into a template: None as "", objects and lists as JSON, the rest as text. */
export function serialize(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return safeJson(value);
  return String(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "null";
  } catch {
    return JSON.stringify(String(value));
  }
}
