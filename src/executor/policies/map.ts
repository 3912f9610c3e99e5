import { getPath } from "../../context/index.js";
import { describe } from "../../dsl/config.js";
import type { MapStep } from "../../dsl/map.js";
import type { Ctx } from "../frame.js";
import type { Policy } from "../registry.js";
import { type LoopDriver, runLoop } from "./loop.js";

/**
 * Flujo's MapStep (flujo-behaviour.md §2.9) on the loop engine: one iteration per item, each item the
 * body's input, the output the list of the iterations' outputs. The items and results live in a driver
 * made for this execution, so concurrent runs of one MapStep never see each other's state.
 */
export const mapPolicy: Policy = (frame, step, data) => {
  const map = step as MapStep;
  return runLoop(frame, map, data, mapDriver(map));
};

function mapDriver(map: MapStep): LoopDriver {
  const field = map.iterableInput;
  const last = map.body.steps.length - 1;
  let items: unknown[] = [];
  const results: unknown[] = [];
  return {
    get maxLoops() {
      return items.length;
    },
    initialInput: (_input: unknown, context: Ctx) => {
      items = readItems(context, field);
      return items[0];
    },
    // An iteration's output is its last body step's output, failed or not (a multi-step body that
    // fails before its last step ends the loop anyway).
    observe: (result, stepIndex) => {
      if (stepIndex === last) results.push(result.output);
    },
    exitCondition: () => results.length >= items.length,
    iterationInput: (_output, _context, done) => items[done],
    output: () => results,
  };
}

function readItems(context: Ctx, field: string): unknown[] {
  const value = getPath(context, field);
  if (value === undefined) throw new Error(`Context missing required field '${field}'`);
  if (
    typeof value === "string" ||
    typeof value !== "object" ||
    value === null ||
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(`Field '${field}' must be a non-string iterable, got ${describe(value)}`);
  }
  return Array.from(value as Iterable<unknown>);
}
