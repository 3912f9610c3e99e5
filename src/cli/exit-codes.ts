/**
 * Flujo's stable exit codes (flujo/cli/exit_codes.py), so scripts written for Flujo's CLI keep working,
 * and the mapping of errors to them.
 */
import { ConfigurationError, PipelineContextInitializationError, SettingsError } from "../domain/errors.js";
import { BlueprintImportError } from "../yaml/errors.js";

export const EX_OK = 0;
export const EX_RUNTIME_ERROR = 1;
export const EX_CONFIG_ERROR = 2;
export const EX_IMPORT_ERROR = 3;
export const EX_VALIDATION_FAILED = 4;
export const EX_SIGINT = 130;

/** A failure the CLI reports as one message and an exit code, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof BlueprintImportError) return EX_IMPORT_ERROR;
  if (err instanceof ConfigurationError || err instanceof SettingsError) return EX_CONFIG_ERROR;
  if (err instanceof PipelineContextInitializationError) return EX_CONFIG_ERROR;
  return EX_RUNTIME_ERROR;
}
