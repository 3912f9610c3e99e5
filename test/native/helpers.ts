import { readFileSync } from "node:fs";

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "hex"));

export interface GoldenFile {
  json: { name: string; json: string; hex: string }[];
  value: { name: string; value: unknown; hex: string }[];
  hash128: { name: string; input: string; hash: string }[];
  hashJson: { name: string; json: string; hash: string }[];
}

export function loadGolden(): GoldenFile {
  const file = new URL("../golden/canonical.json", import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")) as GoldenFile;
}

const NUMBERS: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Infinity,
  "-Infinity": -Infinity,
  "-0": -0,
};

/** Turns the golden file's tagged stand-ins ({"$bigint": "1"}, ...) into the JS values they denote. */
export function decodeTagged(tagged: unknown): unknown {
  if (Array.isArray(tagged)) return tagged.map(decodeTagged);
  if (typeof tagged !== "object" || tagged === null) return tagged;
  const entries = Object.entries(tagged);
  if (entries.length === 1) {
    const [tag, payload] = entries[0];
    switch (tag) {
      case "$undefined":
        return undefined;
      case "$number":
        return NUMBERS[String(payload)];
      case "$bigint":
        return BigInt(String(payload));
      case "$date":
        return new Date(payload === "invalid" ? Number.NaN : Number(payload));
      case "$bytes":
        return fromHex(String(payload));
      case "$buffer":
        return Buffer.from(String(payload), "hex");
    }
  }
  return Object.fromEntries(entries.map(([key, value]) => [key, decodeTagged(value)]));
}
