import type { StepResult } from "../domain/results.js";
import type { Span } from "../domain/trace.js";
import { now } from "../executor/clock.js";

export type SpanStatus = Span["status"];
export type SpanEvent = Span["events"][number];

// performance.now() is per process; the tree of a run resumed elsewhere must keep one clock.
/** A `performance.now()` reading plus this is span time. */
export const SPAN_ORIGIN = performance.timeOrigin;

/** Span time: epoch milliseconds with performance.now()'s resolution (monotonic within a process). */
export function spanClock(): number {
  return SPAN_ORIGIN + now();
}

/** Attribute values are kept to what every exporter and the state codec accept. */
export type AttributeValue = string | number | boolean | undefined;

let nextId = 0;
/** Span ids are unique within the process; a counter costs nothing next to a random UUID per step. */
const prefix = `${process.pid.toString(16)}-${Date.now().toString(36)}-`;

// Leaf spans (most of them) never get children or events: they share these until their first one.
const NO_CHILDREN: TraceSpan[] = [];
const NO_EVENTS: SpanEvent[] = [];

/** Where in a parent step its children run: an iteration of a loop or a branch. */
export class Scoped {
  /** The plain step running in this scope now (steps of one scope run one at a time). */
  current: TraceSpan | undefined = undefined;

  constructor(
    readonly span: TraceSpan,
    readonly label: string,
    readonly iteration: number | undefined,
    readonly branch: string | undefined,
  ) {}
}

/**
 * A node of the trace tree. A step span keeps what it started with and its StepResult, and builds its
 * Flujo-named attributes only when they are read (an exporter, JSON, a test): a run that nobody reads
 * costs no attribute objects. Links to the parent and to the OpenTelemetry mirror are private fields,
 * so JSON and `structuredClone` see only the plain `Span` fields (JSON through `toJSON`).
 */
export class TraceSpan implements Span {
  name: string;
  startTime: number;
  endTime: number | undefined = undefined;
  children: TraceSpan[] = NO_CHILDREN;
  events: SpanEvent[] = NO_EVENTS;
  status: SpanStatus = "running";
  // The id's text is made when it is first read: most spans' ids are never read.
  readonly #seq: number;
  #id: string | undefined = undefined;
  #parentId: string | undefined = undefined;
  readonly #parent: TraceSpan | undefined;
  readonly #scope: Scoped | undefined;
  // What a step span knows when it starts (no object per step: fields of the span).
  /** The step's class: its name (`flujo.step.type`) is read only when the attributes are (a getter). */
  readonly #type: { readonly name: string } | undefined;
  readonly #quotaUsd: number | undefined;
  readonly #quotaTokens: number | undefined;
  readonly #input: string | undefined;
  #result: StepResult | undefined = undefined;
  #attributes: Record<string, AttributeValue> | undefined;
  #attemptLog: Array<{ attempt: number; feedback: string }> | undefined = undefined;
  #otel: unknown = undefined;
  #current: TraceSpan | undefined = undefined;

  constructor(
    name: string,
    parent: TraceSpan | undefined,
    scope: Scoped | undefined,
    attributes: Record<string, AttributeValue> | undefined,
    startTime: number,
    type?: { readonly name: string },
    quotaUsd?: number,
    quotaTokens?: number,
    input?: string,
    /** A step run by the agent policy: no children, timed by its policy (observer.ts). */
    readonly plain = false,
  ) {
    this.#seq = nextId++;
    this.name = name;
    this.startTime = startTime;
    this.#parent = parent;
    this.#scope = scope;
    this.#attributes = attributes;
    this.#type = type;
    this.#quotaUsd = quotaUsd;
    this.#quotaTokens = quotaTokens;
    this.#input = input;
  }

  get spanId(): string {
    this.#id ??= prefix + this.#seq.toString(36);
    return this.#id;
  }

  set spanId(id: string) {
    this.#id = id;
  }

  get parentSpanId(): string | undefined {
    return this.#parentId ?? this.#parent?.spanId;
  }

  set parentSpanId(id: string | undefined) {
    this.#parentId = id;
  }

  /** The enclosing span (undefined for the root). */
  get parent(): TraceSpan | undefined {
    return this.#parent;
  }

  /** Where in the parent this span ran: "loop[3]", "branch[a]"; part of the step path. */
  get scopeLabel(): string | undefined {
    return this.#scope?.label;
  }

  /**
   * Flujo's attributes: `flujo.step.type`, `flujo.attempt_number`, `flujo.budget.quota_before_usd/tokens`,
   * `flujo.cache.hit`, `step_input` (when captured), and once the step ended `success`, `latency_s`,
   * `flujo.budget.actual_cost_usd/tokens`, `feedback` (failures).
   */
  get attributes(): Record<string, AttributeValue> {
    let a = this.#attributes;
    if (a === undefined) {
      a = {};
      const type = this.#type;
      if (type !== undefined) {
        a["flujo.step.type"] = type.name;
        if (this.#quotaUsd !== undefined) a["flujo.budget.quota_before_usd"] = this.#quotaUsd;
        if (this.#quotaTokens !== undefined) a["flujo.budget.quota_before_tokens"] = this.#quotaTokens;
        const scope = this.#scope;
        if (scope?.iteration !== undefined) a["flujo.loop.iteration"] = scope.iteration;
        if (scope?.branch !== undefined) a["flujo.branch"] = scope.branch;
        if (this.#input !== undefined) a.step_input = this.#input;
        a["flujo.cache.hit"] = false;
      }
      const r = this.#result;
      if (r !== undefined) resultAttributes(a, r);
      // Cached once the span is over; before that the result may still arrive (end() updates a cached one).
      if (this.endTime !== undefined || type === undefined) this.#attributes = a;
    }
    return a;
  }

  set attributes(value: Record<string, AttributeValue>) {
    this.#attributes = value;
  }

  /** Ends a step span with its result. */
  end(result: StepResult, time: number): void {
    this.endTime = time;
    this.#result = result;
    this.status = result.success ? "completed" : "failed";
    // Attributes read before the end (an OTel start) get the result's now.
    if (this.#attributes !== undefined) resultAttributes(this.#attributes, result);
  }

  setAttribute(key: string, value: AttributeValue): void {
    const a = this.attributes;
    a[key] = value;
    this.#attributes = a;
  }

  addChild(child: TraceSpan): void {
    if (this.children === NO_CHILDREN) this.children = [child];
    else this.children.push(child);
  }

  addEvent(name: string, attributes: Record<string, AttributeValue>, time = spanClock()): void {
    const event = { name, time, attributes };
    if (this.events === NO_EVENTS) this.events = [event];
    else this.events.push(event);
  }

  get attemptLog(): Array<{ attempt: number; feedback: string }> | undefined {
    return this.#attemptLog;
  }

  logAttempt(attempt: number, feedback: string): void {
    this.#attemptLog ??= [];
    this.#attemptLog.push({ attempt, feedback });
  }

  /** The plain step running directly under this span now (steps of one scope run one at a time). */
  get current(): TraceSpan | undefined {
    return this.#current;
  }

  set current(span: TraceSpan | undefined) {
    this.#current = span;
  }

  get otel(): unknown {
    return this.#otel;
  }

  set otel(span: unknown) {
    this.#otel = span;
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

function resultAttributes(a: Record<string, AttributeValue>, r: StepResult): void {
  a.success = r.success;
  a.latency_s = r.latencyS;
  a["flujo.attempt_number"] = r.attempts;
  a["flujo.cache.hit"] = r.metadata.cacheHit === true;
  a["flujo.budget.actual_cost_usd"] = r.costUsd;
  a["flujo.budget.actual_tokens"] = r.tokenCounts;
  if (!r.success && r.feedback !== undefined) a.feedback = r.feedback;
}

/** The tree as plain objects (what is stored through the state backend, and what JSON shows). */
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
  if (span.events.length > 0) s.events = span.events.map((e) => ({ ...e, attributes: { ...e.attributes } }));
  if (span.children.length > 0) s.children = span.children.map((c) => fromPlainSpan(c, s));
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
