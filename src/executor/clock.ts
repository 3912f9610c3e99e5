/**
 * The clock of the engine's timings. A `performance.now()` costs 40-60 ns on the 2-vCPU VMs we measure
 * on, as much as a tenth of a no-op step, so a step's start is read once: by its policy, which writes it
 * into the frame's scope in an observed run (its span starts then) instead of the observer reading the
 * clock again.
 */
import { performance } from "node:perf_hooks";
import type { Frame } from "./frame.js";

// The module's binding, not the global: in Node 20 `globalThis.performance` is a getter, which every
// `performance.now()` would call first.
const perf = performance;

/** The clock, in ms (`performance.now()`). */
export function now(): number {
  return perf.now();
}

/** A policy's start of a step run in `frame`: the clock, kept in the frame's scope when it is observed. */
export function stepStart(frame: Frame): number {
  const t = perf.now();
  const scope = frame.scope;
  if (scope !== undefined) scope.start = t;
  return t;
}
