import { context, type Span as OtelSpan, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import type { AttributeValue, TraceSpan } from "./span.js";

/** The tracer flujo's spans go to: the user's, or `trace.getTracer("flujo")` of the registered provider. */
export function flujoTracer(option: true | Tracer): Tracer {
  return option === true ? trace.getTracer("flujo") : option;
}

/** OTel accepts strings, numbers and booleans; undefined attributes are left out. */
function defined(attributes: Record<string, AttributeValue>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const key in attributes) {
    const v = attributes[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Opens the OTel mirror of `span`, a child of its parent's mirror (explicit parent: no context manager needed). */
export function startOtelSpan(tracer: Tracer, span: TraceSpan): void {
  const parent = span.parent?.otel as OtelSpan | undefined;
  const ctx = parent === undefined ? context.active() : trace.setSpan(context.active(), parent);
  span.otel = tracer.startSpan(span.name, { attributes: defined(span.attributes) }, ctx);
}

export function otelEvent(span: TraceSpan, name: string, attributes: Record<string, AttributeValue>): void {
  (span.otel as OtelSpan | undefined)?.addEvent(name, defined(attributes));
}

/** Closes the mirror with the span's final attributes and status. */
export function endOtelSpan(span: TraceSpan): void {
  const o = span.otel as OtelSpan | undefined;
  if (o === undefined) return;
  o.setAttributes(defined(span.attributes));
  if (span.status === "failed") {
    const feedback = span.attributes.feedback;
    o.setStatus({ code: SpanStatusCode.ERROR, message: typeof feedback === "string" ? feedback : undefined });
  } else if (span.status === "completed") {
    o.setStatus({ code: SpanStatusCode.OK });
  }
  o.setAttribute("flujo.status", span.status);
  o.end();
}
