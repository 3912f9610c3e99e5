/** A node of the run's trace tree (PipelineResult.traceTree), built from hook events. */
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
