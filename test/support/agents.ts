import type { Agent, AgentRunOptions, Plugin, PluginOutcome } from "../../src/index.js";

/** An agent that returns its canned outputs in order (the last one repeats) and counts its calls. */
export class StubAgent implements Agent {
  calls = 0;
  inputs: unknown[] = [];
  readonly #outputs: unknown[];
  constructor(outputs: unknown[]) {
    this.#outputs = outputs;
  }
  async run(input: unknown, _options: AgentRunOptions): Promise<unknown> {
    this.inputs.push(input);
    const out = this.#outputs[Math.min(this.calls, this.#outputs.length - 1)];
    this.calls++;
    if (out instanceof Error) throw out;
    return out;
  }
}

/** An agent that always throws the given error. */
export class FailingAgent implements Agent {
  calls = 0;
  readonly #error: () => Error;
  constructor(error: () => Error) {
    this.#error = error;
  }
  async run(): Promise<unknown> {
    this.calls++;
    throw this.#error();
  }
}

export class RuntimeError extends Error {}

/** A plugin that answers from a list of outcomes (the last repeats) and records what it saw. */
export class ScriptedPlugin implements Plugin {
  seen: Record<string, unknown>[] = [];
  readonly #outcomes: PluginOutcome[];
  constructor(outcomes: PluginOutcome[]) {
    this.#outcomes = outcomes;
  }
  async validate(data: Record<string, unknown>): Promise<PluginOutcome> {
    this.seen.push(data);
    return this.#outcomes[Math.min(this.seen.length - 1, this.#outcomes.length - 1)];
  }
}

/** An agent returning an AgentResult with the given usage. */
export function costly(output: unknown, costUsd: number, tokenCounts: number): StubAgent {
  return new StubAgent([{ output, costUsd, tokenCounts }]);
}

/** Collects the event names a hook sees. */
export function recorder(): { names: string[]; hook: (p: { eventName: string }) => void } {
  const names: string[] = [];
  return { names, hook: (p) => void names.push(p.eventName) };
}

/** A logger that keeps messages instead of printing them. */
export function memoryLogger(): {
  errors: string[];
  warnings: string[];
  error(m: string): void;
  warn(m: string): void;
} {
  const errors: string[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    error: (m: string) => void errors.push(m),
    warn: (m: string) => void warnings.push(m),
  };
}
