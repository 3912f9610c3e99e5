/**
 * Live per-step progress on stderr, fed by the runner's hooks (pre_step, post_step, on_step_failure), so
 * stdout carries only the result. In a terminal the running step has a spinner line that is replaced by
 * its outcome; piped, each step is one plain line when it ends, so logs stay readable.
 */
import type { StepResult } from "../domain/results.js";
import type { HookFunction, HookPayload } from "../telemetry/events.js";
import { money, preview, seconds } from "./format.js";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

export class Progress {
  readonly hook: HookFunction;
  readonly #out: ProgressOutput;
  readonly #tty: boolean;
  readonly #color: boolean;
  readonly #quiet: boolean;
  #timer: ReturnType<typeof setInterval> | undefined;
  #current: string | undefined;
  #frame = 0;
  #index = 0;
  readonly #total: number;

  constructor(out: ProgressOutput, options: { quiet: boolean; totalSteps: number; startIndex?: number }) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    // https://no-color.org: marks stay, colours go.
    this.#color = this.#tty && (process.env.NO_COLOR ?? "") === "";
    this.#quiet = options.quiet;
    this.#total = options.totalSteps;
    this.#index = options.startIndex ?? 0;
    this.hook = (payload: HookPayload) => this.#on(payload);
  }

  #on(payload: HookPayload): void {
    if (this.#quiet) return;
    switch (payload.eventName) {
      case "pre_step":
        this.#start(payload.step.name);
        break;
      case "post_step":
        this.#end(payload.stepResult, true);
        break;
      case "on_step_failure":
        this.#end(payload.stepResult, false);
        break;
      default:
        break;
    }
  }

  #start(name: string): void {
    this.#current = name;
    if (!this.#tty) return;
    this.#draw();
    this.#timer ??= setInterval(() => this.#draw(), 80);
    this.#timer.unref?.();
  }

  #draw(): void {
    if (this.#current === undefined) return;
    this.#frame = (this.#frame + 1) % FRAMES.length;
    this.#out.write(`\r\x1b[2K${FRAMES[this.#frame]} [${this.#index + 1}/${this.#total}] ${this.#current}`);
  }

  #end(result: StepResult, ok: boolean): void {
    this.#index++;
    const name = this.#current ?? result.name;
    this.#current = undefined;
    this.stopSpinner();
    const parts = [seconds(result.latencyS)];
    if (result.costUsd > 0) parts.push(money(result.costUsd));
    if (result.tokenCounts > 0)
      parts.push(`${result.tokenCounts} token${result.tokenCounts === 1 ? "" : "s"}`);
    if (result.attempts > 1) parts.push(`${result.attempts} attempts`);
    if (result.name !== name) parts.push(`via ${result.name}`);
    if (result.metadata?.cacheHit === true) parts.push("cached");
    const mark = ok ? this.#mark("✔", "32", "ok") : this.#mark("✘", "31", "FAILED");
    let line = `${mark} [${this.#index}/${this.#total}] ${name} (${parts.join(", ")})`;
    if (!ok && result.feedback) line += `: ${preview(result.feedback, 200)}`;
    this.#out.write(`${line}\n`);
  }

  /** A pause for a human: the step waits, so its line says so. */
  paused(stepName: string | undefined, message: string): void {
    this.stopSpinner();
    this.#current = undefined;
    if (this.#quiet) return;
    this.#out.write(`${this.#mark("⏸", "33", "PAUSED")} ${stepName ?? "(step)"}: ${message}\n`);
  }

  /** A symbol (coloured when allowed) in a terminal, a word when piped. */
  #mark(symbol: string, color: string, word: string): string {
    if (!this.#tty) return word;
    return this.#color ? `\x1b[${color}m${symbol}\x1b[0m` : symbol;
  }

  stopSpinner(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (this.#tty) this.#out.write("\r\x1b[2K");
  }
}
