/**
 * Backpressure for a runner (`FlujoOptions.maxConcurrentRuns`): at most `limit` runs execute at once,
 * the others wait in arrival order. A run that leaves hands its slot straight to the oldest waiter, so a
 * steady stream of new runs cannot overtake the queue. A waiter whose AbortSignal fires stops waiting
 * and enters at once (over the limit, briefly), so it can end with its usual "failed" result.
 *
 * The queue is a linked list: a burst of 100,000 waiters costs one small node each, and neither
 * entering nor leaving ever shifts an array.
 */
import { ConfigurationError } from "../domain/errors.js";

interface Waiter {
  enter: (() => void) | undefined;
  next: Waiter | undefined;
}

export class RunGate {
  readonly limit: number;
  #active = 0;
  #queued = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;

  constructor(limit: number | undefined) {
    const value = limit ?? Number.POSITIVE_INFINITY;
    if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= 1))) {
      throw new ConfigurationError(
        `Flujo: maxConcurrentRuns must be a positive integer or Infinity (got ${String(limit)})`,
      );
    }
    this.limit = value;
  }

  /** Runs executing now. */
  get active(): number {
    return this.#active;
  }

  /** Runs waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /** Takes a slot if one is free; otherwise the caller awaits `wait`. */
  tryEnter(): boolean {
    if (this.#active >= this.limit) return false;
    this.#active++;
    return true;
  }

  wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = { enter: resolve, next: undefined };
      if (this.#tail === undefined) this.#head = waiter;
      else this.#tail.next = waiter;
      this.#tail = waiter;
      this.#queued++;
      if (signal === undefined) return;
      const onAbort = () => {
        if (waiter.enter === undefined) return; // already entered
        waiter.enter = undefined;
        this.#queued--;
        this.#active++;
        resolve();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  leave(): void {
    // A run that entered over the limit (its signal aborted while it waited) frees no slot.
    if (this.#active > this.limit) {
      this.#active--;
      return;
    }
    let waiter = this.#head;
    while (waiter !== undefined && waiter.enter === undefined) waiter = waiter.next;
    if (waiter === undefined) {
      this.#head = this.#tail = undefined;
      this.#active--;
      return;
    }
    this.#head = waiter.next;
    if (this.#head === undefined) this.#tail = undefined;
    const enter = waiter.enter as () => void;
    waiter.enter = undefined;
    this.#queued--;
    // The slot passes to the waiter: #active stays as it is.
    enter();
  }
}
