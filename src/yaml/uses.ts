/**
 * Resolves `uses: "./steps.js#name"` (and `agent:`, `condition:`, `exit_condition:`, ...) to an export of a
 * JavaScript or TypeScript module. Paths are relative to the pipeline file's directory and must stay
 * inside it (after symlinks are resolved), or inside one of the allowed roots: a YAML file from elsewhere
 * must not be able to load arbitrary code from the machine. Bare package names are refused unless the
 * allow-list names the package.
 */
import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";

export interface UsesOptions {
  /** The pipeline file's directory: relative paths resolve from here, and may not leave it. */
  baseDir: string;
  /** More directories (absolute, or relative to baseDir) and package names a `uses` may load from. */
  allowImportsFrom?: readonly string[] | undefined;
}

/** Why a `uses` failed; the loader adds the file, line and key. */
export class UsesError extends Error {
  constructor(
    message: string,
    readonly kind: "import" | "config",
  ) {
    super(message);
    this.name = "UsesError";
  }
}

const TS_EXTENSIONS = /\.(?:ts|mts|cts|tsx)$/;
let tsxRegistered: Promise<void> | undefined;

/** Registers tsx's ESM loader once, so .ts modules can be imported; a clear error without tsx. */
export function ensureTypeScriptLoader(what: string): Promise<void> {
  tsxRegistered ??= (async () => {
    let api: { register: (o: { tsconfig: string | false }) => unknown };
    try {
      api = (await import("tsx/esm/api")) as { register: (o: { tsconfig: string | false }) => unknown };
    } catch {
      tsxRegistered = undefined;
      throw new UsesError(
        `${what} is TypeScript, and loading TypeScript needs the tsx package (npm install tsx); or use a .js/.mjs module`,
        "import",
      );
    }
    // A global register(), not tsImport(): tsImport loads modules under a namespace, so a module's own
    // `import "flujo"` would get a second copy of flujo's classes (a Pipeline the CLI's instanceof does not
    // recognise). No tsconfig by default, for the same reason: a project's `paths` can map "flujo" to its
    // sources. A .ts module must be ESM: in a "type": "module" package, or named .mts.
    api.register({ tsconfig: process.env.TSX_TSCONFIG_PATH ?? false });
  })();
  return tsxRegistered;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Splits "./steps.js#name" into the module and the export ("default" when there is no #). */
export function splitUses(spec: string): { module: string; exportName: string } {
  const hash = spec.lastIndexOf("#");
  if (hash < 0) return { module: spec, exportName: "default" };
  const exportName = spec.slice(hash + 1);
  return { module: spec.slice(0, hash), exportName: exportName === "" ? "default" : exportName };
}

/** Where a module of a `uses` lives, checked against the allowed roots. Throws UsesError. */
export function resolveModulePath(moduleSpec: string, options: UsesOptions): string {
  const allowed = options.allowImportsFrom ?? [];
  if (moduleSpec === "") throw new UsesError("'uses' names no module", "config");
  const isPath = moduleSpec.startsWith(".") || isAbsolute(moduleSpec);
  if (!isPath) {
    if (!allowed.includes(moduleSpec)) {
      throw new UsesError(
        `'${moduleSpec}' is a package name; packages are loaded only when allowed (--allow-imports-from ${moduleSpec})`,
        "import",
      );
    }
    try {
      return createRequire(resolve(options.baseDir, "index.js")).resolve(moduleSpec);
    } catch {
      throw new UsesError(`package '${moduleSpec}' is not installed`, "import");
    }
  }
  const target = resolve(options.baseDir, moduleSpec);
  const written = [options.baseDir, ...allowed.filter((a) => a.startsWith(".") || isAbsolute(a))].map((r) =>
    resolve(options.baseDir, r),
  );
  const roots = written.map(real);
  // The path as written and the file it resolves to through symlinks must both stay inside a root.
  const realTarget = real(target);
  const okWritten = written.some((r) => inside(r, target)) || roots.some((r) => inside(r, target));
  if (!okWritten || !roots.some((r) => inside(r, realTarget))) {
    throw new UsesError(
      `'${moduleSpec}' is outside the pipeline's directory (${options.baseDir}); allow it with --allow-imports-from`,
      "import",
    );
  }
  if (!existsSync(target)) throw new UsesError(`module '${moduleSpec}' not found (${target})`, "import");
  return realTarget;
}

const moduleCache = new Map<string, Promise<Record<string, unknown>>>();

/** Imports a module once per process (.ts through tsx). */
export function importModule(path: string, what: string): Promise<Record<string, unknown>> {
  let loaded = moduleCache.get(path);
  if (loaded === undefined) {
    loaded = (async () => {
      if (TS_EXTENSIONS.test(path)) await ensureTypeScriptLoader(what);
      try {
        return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const hint =
          TS_EXTENSIONS.test(path) && /require/i.test(message)
            ? ' (a TypeScript module must be ESM: put it in a package with "type": "module", or name it .mts)'
            : "";
        throw new UsesError(`cannot import '${what}': ${message}${hint}`, "import");
      }
    })();
    moduleCache.set(path, loaded);
    loaded.catch(() => moduleCache.delete(path));
  }
  return loaded;
}

/** The export a `uses` names. Throws UsesError for a missing module or export. */
export async function resolveUses(spec: string, options: UsesOptions): Promise<unknown> {
  const { module, exportName } = splitUses(spec);
  const path = resolveModulePath(module, options);
  const mod = await importModule(path, module);
  if (!Object.hasOwn(mod, exportName)) {
    const names = Object.keys(mod).sort();
    throw new UsesError(
      `module '${module}' has no export '${exportName}'${names.length > 0 ? ` (it exports: ${names.join(", ")})` : ""}`,
      "import",
    );
  }
  return mod[exportName];
}
