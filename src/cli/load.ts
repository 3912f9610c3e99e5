/**
 * Loads what `flujo run` and `flujo validate` are given: a YAML blueprint, or a JavaScript/TypeScript
 * module exporting a pipeline (`pipeline` by default, as Flujo's --pipeline-name; else the default export).
 * A module may also export `usageLimits`, `contextSchema`, `initialContextData`, `name` and `version`.
 */
import { existsSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import type { CacheBackend } from "../cache/backend.js";
import type { UsageLimits } from "../domain/usage.js";
import { Pipeline } from "../dsl/pipeline.js";
import { Step } from "../dsl/step.js";
import type { Schema } from "../dsl/types.js";
import { loadPipelineYaml } from "../yaml/loader.js";
import { importModule, UsesError } from "../yaml/uses.js";
import { CliError, EX_CONFIG_ERROR, EX_IMPORT_ERROR } from "./exit-codes.js";

export interface PipelineFile {
  pipeline: Pipeline;
  name: string;
  version: string;
  usageLimits: UsageLimits | undefined;
  contextSchema: Schema | undefined;
  initialContextData: Record<string, unknown> | undefined;
}

export interface LoadFileOptions {
  pipelineName?: string | undefined;
  allowImportsFrom?: readonly string[] | undefined;
  cacheBackend?: (() => CacheBackend) | undefined;
}

const YAML = /\.ya?ml$/i;
const MODULE = /\.(?:[cm]?js|[cm]?ts|tsx)$/i;

export async function loadPipelineFile(file: string, options: LoadFileOptions = {}): Promise<PipelineFile> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`${file}: no such file`, EX_CONFIG_ERROR);
  if (YAML.test(path)) {
    const loaded = await loadPipelineYaml(file, {
      allowImportsFrom: options.allowImportsFrom,
      cacheBackend: options.cacheBackend,
    });
    return {
      pipeline: loaded.pipeline,
      name: loaded.name,
      version: loaded.version,
      usageLimits: undefined,
      contextSchema: undefined,
      initialContextData: undefined,
    };
  }
  if (!MODULE.test(path)) {
    throw new CliError(`${file}: expected a .yaml/.yml pipeline or a .js/.mjs/.ts module`, EX_CONFIG_ERROR);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path, file);
  } catch (err) {
    throw new CliError(err instanceof UsesError ? err.message : String(err), EX_IMPORT_ERROR);
  }
  const exportName = options.pipelineName ?? "pipeline";
  const value = Object.hasOwn(mod, exportName) ? mod[exportName] : mod.default;
  const pipeline = value instanceof Step ? Pipeline.fromStep(value) : value;
  if (!(pipeline instanceof Pipeline)) {
    throw new CliError(
      `${file}: export '${exportName}' (or a default export) must be a Pipeline or a Step`,
      EX_IMPORT_ERROR,
    );
  }
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    pipeline,
    name: str(mod.name) ?? basename(path, extname(path)),
    version: str(mod.version) ?? "latest",
    usageLimits: mod.usageLimits as UsageLimits | undefined,
    contextSchema: mod.contextSchema as Schema | undefined,
    initialContextData: mod.initialContextData as Record<string, unknown> | undefined,
  };
}
