#!/usr/bin/env node
/**
 * The `flujo` command: run, validate, runs list/show/trace. Each command returns its exit code (Flujo's
 * codes, exit-codes.ts); errors are printed as one message, with file:line for pipeline files, and no
 * stack trace unless FLUJO_DEBUG=1.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { FlujoError } from "../domain/errors.js";
import { CliError, EX_CONFIG_ERROR, exitCodeOf } from "./exit-codes.js";
import { type Io, runCommand } from "./run.js";
import { runsList, runsShow, runsTrace } from "./runs.js";
import { validateCommand } from "./validate.js";

const io: Io = { stdout: process.stdout, stderr: process.stderr };

/** The package's version (dist/cli/main.js and src/cli/main.ts are both two levels below package.json). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command("flujo")
    .description("Run and inspect flujo pipelines (YAML blueprints or JavaScript/TypeScript modules)")
    .version(version())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      onExit(await fn(...args));
    };

  program
    .command("run")
    .description("run a pipeline against the state store (.flujo/state.db by default)")
    .argument("<pipeline>", "pipeline.yaml, or a .js/.mjs/.ts module exporting `pipeline`")
    .option("-i, --input <text>", "the pipeline's input ('-' reads stdin; default: FLUJO_INPUT)")
    .option("-d, --context-data <json>", "initial context fields, a JSON object")
    .option("--run-id <id>", "the run's id; an unfinished stored run with this id is resumed")
    .option(
      "--state-uri <uri>",
      "sqlite:///path.db or memory:// (default: FLUJO_STATE_URI or .flujo/state.db)",
    )
    .option("--json", "print the result as one JSON object (no progress)")
    .option("--summary", "print a one-line summary instead of the output")
    .option("-p, --pipeline-name <export>", "the export of a module pipeline (default: pipeline)")
    .option(
      "--allow-imports-from <dir>",
      "also let `uses` load from this directory or package (repeatable)",
      collect,
    )
    .option("--max-cost <usd>", "a cost budget for the run, in USD")
    .option("--max-tokens <n>", "a token budget for the run")
    .action(act((file: string, opts: Parameters<typeof runCommand>[1]) => runCommand(file, opts, io)));

  program
    .command("validate")
    .description("load a pipeline and check its graph (exit 4 when invalid)")
    .argument("<pipeline>", "pipeline.yaml or a module")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .option("-p, --pipeline-name <export>", "the export of a module pipeline (default: pipeline)")
    .option(
      "--allow-imports-from <dir>",
      "also let `uses` load from this directory or package (repeatable)",
      collect,
    )
    .action(
      act((file: string, opts: Parameters<typeof validateCommand>[1]) => validateCommand(file, opts, io)),
    );

  const runs = program.command("runs").description("inspect stored runs");
  runs
    .command("list")
    .description("the latest runs")
    .option("--state-uri <uri>", "the state store")
    .option("--status <status>", "only runs with this status (running, paused, completed, failed)")
    .option("--limit <n>", "at most this many runs (default 50)")
    .option("--json", "print JSON")
    .action(act((opts: Parameters<typeof runsList>[0]) => runsList(opts, io)));
  runs
    .command("show")
    .description("a run's history, context, output and cost")
    .argument("<run-id>")
    .option("--state-uri <uri>", "the state store")
    .option("--json", "print JSON")
    .action(act((id: string, opts: Parameters<typeof runsShow>[1]) => runsShow(id, opts, io)));
  runs
    .command("trace")
    .description("a run's trace tree")
    .argument("<run-id>")
    .option("--state-uri <uri>", "the state store")
    .option("--json", "print JSON")
    .action(act((id: string, opts: Parameters<typeof runsTrace>[1]) => runsTrace(id, opts, io)));
  return program;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; unknown options and missing arguments are usage errors.
      return err.exitCode === 0 ? 0 : EX_CONFIG_ERROR;
    }
    report(err);
    return exitCodeOf(err);
  }
}

function report(err: unknown): void {
  if (process.env.FLUJO_DEBUG === "1" && err instanceof Error) {
    process.stderr.write(`${err.stack}\n`);
    return;
  }
  const text =
    err instanceof CliError
      ? err.message
      : err instanceof FlujoError
        ? `${err.name}: ${err.message}${err.suggestion ? `\n  suggestion: ${err.suggestion}` : ""}`
        : err instanceof Error
          ? `${err.name}: ${err.message}`
          : String(err);
  process.stderr.write(`flujo: ${text}\n`);
}

const code = await main(process.argv);
// Exit once stdout has drained (piped output must not be cut short), even if a user's module left a
// timer or socket open.
process.stdout.write("", () => process.exit(code));
