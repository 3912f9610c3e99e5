/**
 * Human answers for paused runs, one line each, from stdin: typed at a prompt in a terminal, or piped
 * (`echo yes | flujo run approval.yaml`). One reader serves every pause of a run, so several piped lines
 * answer several pauses in order. EOF (or an interrupt) answers `undefined`: the run stays paused.
 */
import { createInterface, type Interface } from "node:readline";

export class AnswerReader {
  #rl: Interface | undefined;
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string | undefined) => void)[] = [];
  #closed = false;

  #open(): Interface {
    if (this.#rl !== undefined) return this.#rl;
    const rl = createInterface({
      input: process.stdin,
      output: process.stderr,
      terminal: process.stdin.isTTY === true,
    });
    rl.on("line", (line) => {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(line);
      else this.#lines.push(line);
    });
    rl.on("close", () => this.#close());
    // In a terminal readline takes Ctrl-C itself (and would only pause): hand it to the process handler.
    rl.on("SIGINT", () => process.kill(process.pid, "SIGINT"));
    this.#rl = rl;
    return rl;
  }

  #close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  /** The next line, after showing the prompt in a terminal; undefined at EOF. */
  next(prompt: string): Promise<string | undefined> {
    const rl = this.#open();
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(undefined);
    if (process.stdin.isTTY === true) {
      rl.setPrompt(prompt);
      rl.prompt();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops waiting (Ctrl-C): pending answers become undefined. */
  cancel(): void {
    this.close();
    this.#close();
  }

  close(): void {
    this.#rl?.close();
  }
}

/** A typed answer: JSON when it parses (objects, numbers, booleans), else the text itself. */
export function parseAnswer(line: string): unknown {
  const text = line.trim();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
