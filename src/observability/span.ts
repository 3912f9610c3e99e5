import type { Span } from "../domain/trace.js";

export type SpanStatus = Span["status"];
export type SpanEvent = Span["events"][number];
/** Attribute values are kept to what every exporter and the state codec accept. */
export type AttributeValue = string | number | boolean | undefined;

let nextId = 0;
/** Span ids are unique within the process; a counter costs nothing next to a random UUID per step. */
const prefix = `${process.pid.toString(16)}-${Date.now().toString(36)}-`;

/**
 * A node of the trace tree. The class keeps one hidden class for every span; the links to the parent and
 * to the OpenTelemetry mirror are private fields, so JSON, the state codec and `structuredClone` see only
 * the plain `Span` fields.
 */
export class TraceSpan implements Span {
  spanId: string;
  name: string;
  startTime: number;
  endTime: number | undefined = undefined;
  parentSpanId: string | undefined;
  attributes: Record<string, AttributeValue>;
  children: TraceSpan[] = [];
  events: SpanEvent[] = [];
  status: SpanStatus = "running";
  // Private fields: JSON, the state codec and `structuredClone` see only the plain `Span` fields, and
  // every span keeps one hidden class.
  readonly #parent: TraceSpan | undefined;
  readonly #scopeLabel: string | undefined;
  /** Failed attempts of this step, for failure diagnostics. */
  #attemptLog: Array<{ attempt: number; feedback: string }> | undefined = undefined;
  /** The OpenTelemetry span mirroring this one, when OTel export is on. */
  #otel: unknown = undefined;

  constructor(
    name: string,
    parent: TraceSpan | undefined,
    scopeLabel: string | undefined,
    attributes: Record<string, AttributeValue>,
    startTime: number,
  ) {
    this.spanId = prefix + (nextId++).toString(36);
    this.name = name;
    this.startTime = startTime;
    this.parentSpanId = parent?.spanId;
    this.attributes = attributes;
    this.#parent = parent;
    this.#scopeLabel = scopeLabel;
  }

  /** The enclosing span (undefined for the root). */
  get parent(): TraceSpan | undefined {
    return this.#parent;
  }

  /** Where in the parent this span ran: "loop[3]", "branch[a]"; part of the step path. */
  get scopeLabel(): string | undefined {
    return this.#scopeLabel;
  }

  get attemptLog(): Array<{ attempt: number; feedback: string }> | undefined {
    return this.#attemptLog;
  }

  logAttempt(attempt: number, feedback: string): void {
    this.#attemptLog ??= [];
    this.#attemptLog.push({ attempt, feedback });
  }

  get otel(): unknown {
    return this.#otel;
  }

  set otel(span: unknown) {
    this.#otel = span;
  }

  addEvent(name: string, attributes: Record<string, AttributeValue>, time = performance.now()): void {
    this.events.push({ name, time, attributes });
  }

  /** The step path from the first step under the root: `refine > loop[3] > critic`. */
  path(): string {
    const parts: string[] = [];
    for (let s: TraceSpan | undefined = this; s?.parent !== undefined; s = s.parent) {
      parts.push(s.name);
      if (s.scopeLabel !== undefined) parts.push(s.scopeLabel);
    }
    return parts.reverse().join(" > ");
  }

  toJSON(): Span {
    return toPlainSpan(this);
  }
}

/** The tree as plain objects (what is stored through the state backend). */
export function toPlainSpan(span: Span): Span {
  return {
    spanId: span.spanId,
    name: span.name,
    startTime: span.startTime,
    endTime: span.endTime,
    parentSpanId: span.parentSpanId,
    attributes: { ...span.attributes },
    children: span.children.map(toPlainSpan),
    events: span.events.map((e) => ({ name: e.name, time: e.time, attributes: { ...e.attributes } })),
    status: span.status,
  };
}

/** A stored (plain) tree back as TraceSpans, so a resumed run continues it. */
export function fromPlainSpan(span: Span, parent?: TraceSpan): TraceSpan {
  const s = new TraceSpan(
    span.name,
    parent,
    undefined,
    { ...(span.attributes as Record<string, AttributeValue>) },
    span.startTime,
  );
  s.spanId = span.spanId;
  s.parentSpanId = span.parentSpanId;
  s.endTime = span.endTime;
  s.status = span.status;
  s.events = span.events.map((e) => ({ ...e, attributes: { ...e.attributes } }));
  s.children = span.children.map((c) => fromPlainSpan(c, s));
  return s;
}

/** Depth-first search of a tree by span name. */
export function findSpans(root: Span, name: string): Span[] {
  const found: Span[] = [];
  const walk = (s: Span) => {
    if (s.name === name) found.push(s);
    for (const c of s.children) walk(c);
  };
  walk(root);
  return found;
}
