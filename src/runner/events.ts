import type { StepResult } from "../domain/results.js";

/** A top-level step finished (successfully or not). */
export interface StepEvent {
  type: "step";
  stepResult: StepResult;
}

/** A chunk streamed by the last step's agent. */
export interface ChunkEvent {
  type: "chunk";
  stepName: string;
  data: unknown;
}

export type RunEvent = StepEvent | ChunkEvent;

/** Where a run reports its progress; `run()` passes none, `stream()` a queue. */
export interface RunSink {
  step(result: StepResult): void;
  chunk(stepName: string, data: unknown): void;
}
