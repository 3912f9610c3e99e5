/**
 * A JSON text with sorted object keys, used as an equality key: two values are "the same item" for
 * list de-duplication and conflict checks when their keys are equal, like Flujo's
 * `json.dumps(v, sort_keys=True)` comparison. It follows JSON's rules (toJSON, undefined and
 * functions dropped from objects, non-finite numbers as null) so that equality means "serializes
 * the same", except where JSON would lose the difference between distinct values outright:
 * BigInt, Map and Set get tagged forms instead of throwing or collapsing to `{}`.
 */
export function canonicalKey(value: unknown): string {
  return write(value, new Set()) ?? "undefined";
}

/** Deep equality in the canonical-key sense; identical references short-circuit. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return canonicalKey(a) === canonicalKey(b);
}

function write(value: unknown, ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return `{"$bigint":"${value}"}`;
    case "object":
      return value === null ? "null" : writeObject(value, ancestors);
    default:
      return undefined;
  }
}

function writeObject(value: object, ancestors: Set<object>): string | undefined {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return write(toJSON.call(value), ancestors);
  // A cycle cannot be serialized; a fixed marker keeps the key finite and still distinguishes shapes.
  if (ancestors.has(value)) return '"$cycle"';
  ancestors.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((item) => write(item, ancestors) ?? "null").join(",")}]`;
  } else if (value instanceof Map) {
    const entries = [...value].map(
      ([k, v]) => `[${write(k, ancestors) ?? "null"},${write(v, ancestors) ?? "null"}]`,
    );
    text = `{"$map":[${entries.sort().join(",")}]}`;
  } else if (value instanceof Set) {
    const items = [...value].map((item) => write(item, ancestors) ?? "null");
    text = `{"$set":[${items.sort().join(",")}]}`;
  } else {
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const encoded = write(record[key], ancestors);
      if (encoded !== undefined) parts.push(`${JSON.stringify(key)}:${encoded}`);
    }
    text = `{${parts.join(",")}}`;
  }
  ancestors.delete(value);
  return text;
}
