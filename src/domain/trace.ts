/**
 * A node of the run's trace tree (PipelineResult.traceTree), built by the executor's step observer.
 * Times are milliseconds since the Unix epoch (fractional), so a tree continued in another process
 * after a resume keeps one clock.
 */
export interface Span {
  spanId: string;
  name: string;
  startTime: number;
  endTime: number | undefined;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  children: Span[];
  events: { name: string; time: number; attributes: Record<string, unknown> }[];
  status: "running" | "completed" | "failed" | "paused";
}
