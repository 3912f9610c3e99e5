/** `flujo validate <file> [--format json]`: loads the pipeline and runs validateGraph; exit 4 when invalid. */
import { validateGraph } from "../dsl/validate.js";
import { BlueprintError } from "../yaml/errors.js";
import { EX_OK, EX_VALIDATION_FAILED, exitCodeOf } from "./exit-codes.js";
import { loadPipelineFile } from "./load.js";
import type { Io } from "./run.js";

export async function validateCommand(
  file: string,
  opts: { format?: string; allowImportsFrom?: string[]; pipelineName?: string },
  io: Io,
): Promise<number> {
  const json = opts.format === "json";
  let loaded: Awaited<ReturnType<typeof loadPipelineFile>>;
  try {
    loaded = await loadPipelineFile(file, {
      allowImportsFrom: opts.allowImportsFrom,
      pipelineName: opts.pipelineName,
    });
  } catch (err) {
    if (!json) throw err;
    const location = err instanceof BlueprintError ? err.location : undefined;
    const message =
      err instanceof BlueprintError ? err.detail : err instanceof Error ? err.message : String(err);
    io.stdout.write(
      `${JSON.stringify({ file, isValid: false, errors: [{ ruleId: "LOAD", severity: "error", message, location }], warnings: [] })}\n`,
    );
    return exitCodeOf(err);
  }
  const report = validateGraph(loaded.pipeline);
  if (json) {
    io.stdout.write(`${JSON.stringify({ file, ...report })}\n`);
  } else {
    for (const f of [...report.errors, ...report.warnings]) {
      const where = f.stepName === undefined ? "" : ` step '${f.stepName}'`;
      io.stdout.write(`${f.severity} ${f.ruleId}${where}${f.path ? ` (${f.path})` : ""}: ${f.message}\n`);
      if (f.suggestion) io.stdout.write(`  suggestion: ${f.suggestion}\n`);
    }
    io.stdout.write(
      report.isValid
        ? `${file}: valid (${loaded.pipeline.steps.length} steps, ${report.warnings.length} warnings)\n`
        : `${file}: invalid (${report.errors.length} errors, ${report.warnings.length} warnings)\n`,
    );
  }
  return report.isValid ? EX_OK : EX_VALIDATION_FAILED;
}
