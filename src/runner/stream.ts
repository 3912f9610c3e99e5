import type { PipelineResult, StepResult } from "../domain/results.js";
import type { RunEvent, RunSink } from "./events.js";

/**
 * Turns a run that reports through a sink into an async iterable: events are queued as they happen and
 * the final PipelineResult is yielded last. An error of the run is thrown from the iterator.
 */
export function eventStream<R extends PipelineResult<never> | PipelineResult<object>>(
  start: (sink: RunSink) => Promise<R>,
): AsyncIterable<RunEvent | R> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<RunEvent | R> {
      const queue: Array<RunEvent | R> = [];
      let done = false;
      let failure: { error: unknown } | undefined;
      let wake: (() => void) | undefined;
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const sink: RunSink = {
        step(stepResult: StepResult) {
          queue.push({ type: "step", stepResult });
          notify();
        },
        chunk(stepName: string, data: unknown) {
          queue.push({ type: "chunk", stepName, data });
          notify();
        },
      };
      start(sink).then(
        (result) => {
          queue.push(result);
          done = true;
          notify();
        },
        (error: unknown) => {
          failure = { error };
          done = true;
          notify();
        },
      );
      return {
        async next(): Promise<IteratorResult<RunEvent | R>> {
          for (;;) {
            const item = queue.shift();
            if (item !== undefined) return { value: item, done: false };
            if (done) {
              if (failure !== undefined) {
                const { error } = failure;
                failure = undefined;
                throw error;
              }
              return { value: undefined, done: true };
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
        },
      };
    },
  };
}
