/**
 * The clock a plain step's policy times itself with. A `performance.now()` costs 40-60 ns on the 2-vCPU
 * VMs we measure on, as much as a tenth of a no-op step; so when the observer has just read the clock to
 * start a step's span, it hands that reading to the policy it dispatches to instead of the policy reading
 * the clock again. The reading lives only for the synchronous call that dispatches the step: the
 * observer takes it back when the call returns, so no later step can start from a stale time.
 */
import { performance } from "node:perf_hooks";

// The module's binding, not the global: in Node 20 `globalThis.performance` is a getter, which every
// `performance.now()` would call first.
const perf = performance;

/** The clock, in ms (`performance.now()`). */
export function now(): number {
  return perf.now();
}

let handed: number | undefined;

/** A step's start time: the observer's reading when it has just taken one, the clock otherwise. */
export function stepStart(): number {
  const t = handed;
  if (t === undefined) return perf.now();
  handed = undefined;
  return t;
}

/** Reads the clock for a step about to be dispatched, and hands the reading to its policy. */
export function readAndHand(): number {
  const t = perf.now();
  handed = t;
  return t;
}

/** Takes a handed reading back (the dispatch returned, whether or not its policy used it). */
export function takeBack(): void {
  handed = undefined;
}
