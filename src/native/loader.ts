import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { ABI_VERSION, type Backend, type BackendKind } from "./backend.js";
import { jsBackend } from "./js/jsBackend.js";
import { platformTriple } from "./platform.js";

/**
 * Binds the Backend once, at module load, from FLUJO_BACKEND:
 * - `js`: the pure-TS backend; the addon is never loaded, so a broken `.node` cannot crash the process.
 * - `native`: the addon or an exception (so CI cannot silently test the fallback).
 * - `auto` (default): the addon if it loads, else the pure-TS backend, with the reason in nativeLoadError.
 */
export type BackendMode = "auto" | "native" | "js";

export interface LoadedBackend {
  readonly backend: BackendKind;
  readonly hot: Backend;
  /** Why the addon is not in use (undefined when it is, or when mode is `js`). */
  readonly nativeLoadError: Error | undefined;
}

/** The package root: two directories up from both src/native/loader.ts and dist/native/loader.js. */
const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
const requireFromHere = createRequire(import.meta.url);

export function parseBackendMode(raw: string | undefined): BackendMode {
  if (raw === undefined || raw === "") return "auto";
  if (raw === "auto" || raw === "native" || raw === "js") return raw;
  throw new Error(`FLUJO_BACKEND must be "auto", "native" or "js" (got ${JSON.stringify(raw)})`);
}

export function loadBackend(mode: BackendMode): LoadedBackend {
  if (mode === "js") return { backend: "js", hot: jsBackend, nativeLoadError: undefined };
  try {
    return { backend: "native", hot: loadNative(), nativeLoadError: undefined };
  } catch (error) {
    if (mode === "native") throw error;
    const cause = error instanceof Error ? error : new Error(String(error));
    return { backend: "js", hot: jsBackend, nativeLoadError: cause };
  }
}

interface Addon {
  abiVersion(): number;
  hash128(bytes: Uint8Array): string;
  canonicalizeJson(json: Uint8Array): Uint8Array;
  hashJson(json: Uint8Array): string;
}

function loadNative(): Backend {
  const triple = platformTriple();
  if (triple === undefined) {
    throw new Error(`flujo: no native addon for ${process.platform}-${process.arch}`);
  }
  const attempts: string[] = [];
  const errors: unknown[] = [];
  // A local build (`npm install` in a clone) wins over an installed platform package.
  const localFile = `${packageRoot}flujo.${triple}.node`;
  const candidates = existsSync(localFile) ? [localFile, `flujo-${triple}`] : [`flujo-${triple}`];
  if (candidates.length === 1) attempts.push(`${localFile}: not built`);
  for (const id of candidates) {
    let addon: unknown;
    try {
      addon = requireFromHere(id);
    } catch (error) {
      attempts.push(`${id}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      errors.push(error);
      continue;
    }
    return adapt(addon, id);
  }
  const hint = "build it with `npm run build:native`, or set FLUJO_BACKEND=js";
  throw new Error(`flujo: cannot load the native addon (${attempts.join("; ")}); ${hint}`, {
    cause: errors.length === 1 ? errors[0] : new AggregateError(errors),
  });
}

function adapt(addon: unknown, id: string): Backend {
  const candidate = addon as Partial<Addon> | null;
  const names = ["abiVersion", "hash128", "canonicalizeJson", "hashJson"] as const;
  const missing = names.filter((name) => typeof candidate?.[name] !== "function");
  if (missing.length > 0)
    throw new Error(`flujo: ${id} is not a flujo addon (missing ${missing.join(", ")})`);
  const native = candidate as Addon;
  const version = native.abiVersion();
  if (version !== ABI_VERSION) {
    throw new Error(
      `flujo: ${id} has ABI version ${version} but this flujo needs ${ABI_VERSION}; rebuild it with \`npm run build:native\``,
    );
  }
  // The addon's functions themselves, not wrappers: one less call on the hot path.
  return {
    kind: "native",
    abiVersion: native.abiVersion,
    hash128: native.hash128,
    canonicalizeJson: native.canonicalizeJson,
    hashJson: native.hashJson,
  };
}

const loaded = loadBackend(parseBackendMode(process.env.FLUJO_BACKEND));

/** Which backend is live. */
export const backend: BackendKind = loaded.backend;
/** Why the native addon is not live under FLUJO_BACKEND=auto (undefined when it is). */
export const nativeLoadError: Error | undefined = loaded.nativeLoadError;
/** The live implementation. */
export const hot: Backend = loaded.hot;
