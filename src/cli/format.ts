/** Text formatting shared by the commands: money, durations, value previews, tables. */

export function money(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

export function seconds(s: number): string {
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)}ms`;
  return `${s.toFixed(2)}s`;
}

/** A value as one would read it: strings as they are, the rest as JSON. */
export function show(value: unknown, pretty = false): string {
  if (value === undefined) return "(none)";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, jsonReplacer, pretty ? 2 : undefined) ?? String(value);
  } catch {
    return String(value);
  }
}

export function preview(value: unknown, max = 80): string {
  const text = show(value).replace(/\s+/g, " ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** JSON that keeps what MessagePack state keeps and JSON does not: BigInt, undefined, Maps. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
