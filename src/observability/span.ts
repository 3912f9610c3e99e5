import type { StepResult } from "../domain/results.js";
import type { Span } from "../domain/trace.js";
import type { Step } from "../dsl/step.js";
import { now } from "../executor/clock.js";
import type { StepScope } from "../executor/frame.js";

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
const NO_CHILDREN: Array<TraceSpan | StepRecord> = [];
const NO_EVENTS: SpanEvent[] = [];

/**
 * Where in a parent span its children run: directly under it (no label), or in an iteration of a loop
 * or a branch. A frame's `scope` is one of these. The steps of one scope run one at a time: the scope
 * also holds the one running now, from its start to its end (observer.ts).
 */
export class Scoped implements StepScope {
  /** The step running in this scope now. */
  step: Step | undefined = undefined;
  /**
   * Its start: a `performance.now()` reading (SPAN_ORIGIN + start is span time); NaN from the step's
   * open until its policy reads the clock.
   */
  start = 0;
  /** Run by the agent policy: no children, timed by its policy. */
  plain = false;
  /** Its span, once made: at once for complex steps, for a plain step only when something needs it. */
  current: TraceSpan | undefined = undefined;

  constructor(
    readonly span: TraceSpan,
    readonly label: string | undefined,
    readonly iteration: number | undefined,
    readonly branch: string | undefined,
  ) {}
}

/**
 * A plain step that succeeded while nothing needed its span: its parent keeps this, and makes the span
 * from it when the tree is read. Most spans of most runs are never read; this is a third of a span's
 * fields, and the span's attributes come from the result anyway.
 */
export class StepRecord {
  constructor(
    readonly scope: Scoped,
    readonly step: Step,
    /** A `performance.now()` reading, as the scope had it. */
    readonly start: number,
    readonly result: StepResult,
  ) {}

  span(): TraceSpan {
    const { scope, step, result } = this;
    const start = SPAN_ORIGIN + this.start;
    const span = new TraceSpan(step.name, scope, undefined, start, step.constructor);
    span.end(result, start + result.latencyS * 1000);
    return span;
  }
}

/**
 * What only some spans carry: the root's attributes, an id once read, events, a retried step's attempts,
 * the budget left before a step of a run with limits, an input preview. One object, made on first use,
 * so the span of a plain step is a handful of fields (the tree is built at every step of every run).
 */
class SpanExtras {
  id: string | undefined = undefined;
  parentId: string | undefined = undefined;
  attributes: Record<string, AttributeValue> | undefined = undefined;
  events: SpanEvent[] = NO_EVENTS;
  attemptLog: Array<{ attempt: number; feedback: string }> | undefined = undefined;
  otel: unknown = undefined;
  quotaUsd: number | undefined = undefined;
  quotaTokens: number | undefined = undefined;
  input: string | undefined = undefined;
}

/**
 * A node of the trace tree. A step span keeps what it started with and its StepResult, and builds its
 * Flujo-named attributes only when they are read (an exporter, JSON, a test): a run that nobody reads
 * costs no attribute objects. Links to the parent and to the OpenTelemetry mirror are private fields;
 * JSON (`toJSON`) and `toPlainSpan` give the plain `Span`.
 */
export class TraceSpan implements Span {
  name: string;
  startTime: number;
  endTime: number | undefined = undefined;
  status: SpanStatus = "running";
  /** Child spans, and records of plain children whose spans are made when `children` is read. */
  #children: Array<TraceSpan | StepRecord> = NO_CHILDREN;
  /** Where the span ran: its parent and the iteration or branch (undefined for the root). */
  readonly #scope: Scoped | undefined;
  /** The step's class: its name (`flujo.step.type`) is read only when the attributes are. */
  readonly #type: { readonly name: string } | undefined;
  #result: StepResult | undefined = undefined;
  #x: SpanExtras | undefined = undefined;

  constructor(
    name: string,
    scope: Scoped | undefined,
    attributes: Record<string, AttributeValue> | undefined,
    startTime: number,
    type?: { readonly name: string },
  ) {
    this.name = name;
    this.startTime = startTime;
    this.#scope = scope;
    this.#type = type;
    if (attributes !== undefined) this.#extras().attributes = attributes;
  }

  #extras(): SpanExtras {
    this.#x ??= new SpanExtras();
    return this.#x;
  }

  get spanId(): string {
    const x = this.#extras();
    x.id ??= prefix + (nextId++).toString(36);
    return x.id;
  }

  set spanId(id: string) {
    this.#extras().id = id;
  }

  get parentSpanId(): string | undefined {
    return this.#x?.parentId ?? this.#scope?.span.spanId;
  }

  set parentSpanId(id: string | undefined) {
    this.#extras().parentId = id;
  }

  get events(): SpanEvent[] {
    return this.#x?.events ?? NO_EVENTS;
  }

  set events(events: SpanEvent[]) {
    this.#extras().events = events;
  }

  /** The enclosing span (undefined for the root). */
  get parent(): TraceSpan | undefined {
    return this.#scope?.span;
  }

  /** Where in the parent this span ran: "loop[3]", "branch[a]"; part of the step path. */
  get scopeLabel(): string | undefined {
    return this.#scope?.label;
  }

  /** The budget left when the step started (runs with usage limits; undefined is "no limit"). */
  budgetBefore(costUsd: number | undefined, tokens: number | undefined): void {
    const x = this.#extras();
    x.quotaUsd = costUsd;
    x.quotaTokens = tokens;
  }

  /** A preview of the step's input (`step_input`). */
  set input(preview: string) {
    this.#extras().input = preview;
  }

  /**
   * Flujo's attributes: `flujo.step.type`, `flujo.attempt_number`, `flujo.budget.quota_before_usd/tokens`,
   * `flujo.cache.hit`, `step_input` (when captured), and once the step ended `success`, `latency_s`,
   * `flujo.budget.actual_cost_usd/tokens`, `feedback` (failures).
   */
  get attributes(): Record<string, AttributeValue> {
    const x = this.#x;
    let a = x?.attributes;
    if (a === undefined) {
      a = {};
      const type = this.#type;
      if (type !== undefined) {
        a["flujo.step.type"] = type.name;
        if (x?.quotaUsd !== undefined) a["flujo.budget.quota_before_usd"] = x.quotaUsd;
        if (x?.quotaTokens !== undefined) a["flujo.budget.quota_before_tokens"] = x.quotaTokens;
        const scope = this.#scope;
        if (scope?.iteration !== undefined) a["flujo.loop.iteration"] = scope.iteration;
        if (scope?.branch !== undefined) a["flujo.branch"] = scope.branch;
        if (x?.input !== undefined) a.step_input = x.input;
        a["flujo.cache.hit"] = false;
      }
      const r = this.#result;
      if (r !== undefined) resultAttributes(a, r);
      // Cached once the span is over; before that the result may still arrive (end() updates a cached one).
      if (this.endTime !== undefined || type === undefined) this.#extras().attributes = a;
    }
    return a;
  }

  set attributes(value: Record<string, AttributeValue>) {
    this.#extras().attributes = value;
  }

  /** Ends a step span with its result. */
  end(result: StepResult, time: number): void {
    this.endTime = time;
    this.#result = result;
    this.status = result.success ? "completed" : "failed";
    // Attributes read before the end (an OTel start) get the result's now.
    const a = this.#x?.attributes;
    if (a !== undefined) resultAttributes(a, result);
  }

  setAttribute(key: string, value: AttributeValue): void {
    const a = this.attributes;
    a[key] = value;
    this.#extras().attributes = a;
  }

  get children(): TraceSpan[] {
    const children = this.#children;
    for (let i = 0; i < children.length; i++) {
      const c = children[i];
      if (c instanceof StepRecord) children[i] = c.span();
    }
    return children as TraceSpan[];
  }

  set children(children: TraceSpan[]) {
    this.#children = children;
  }

  addChild(child: TraceSpan | StepRecord): void {
    if (this.#children === NO_CHILDREN) this.#children = [child];
    else this.#children.push(child);
  }

  addEvent(name: string, attributes: Record<string, AttributeValue>, time = spanClock()): void {
    const event = { name, time, attributes };
    const x = this.#extras();
    if (x.events === NO_EVENTS) x.events = [event];
    else x.events.push(event);
  }

  get attemptLog(): Array<{ attempt: number; feedback: string }> | undefined {
    return this.#x?.attemptLog;
  }

  logAttempt(attempt: number, feedback: string): void {
    const x = this.#extras();
    x.attemptLog ??= [];
    x.attemptLog.push({ attempt, feedback });
  }

  get otel(): unknown {
    return this.#x?.otel;
  }

  set otel(span: unknown) {
    this.#extras().otel = span;
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
export function fromPlainSpan(span: Span, scope?: Scoped): TraceSpan {
  const s = new TraceSpan(
    span.name,
    scope,
    { ...(span.attributes as Record<string, AttributeValue>) },
    span.startTime,
  );
  s.spanId = span.spanId;
  s.parentSpanId = span.parentSpanId;
  s.endTime = span.endTime;
  s.status = span.status;
  if (span.events.length > 0) s.events = span.events.map((e) => ({ ...e, attributes: { ...e.attributes } }));
  if (span.children.length > 0) {
    // The labels of loop iterations and branches are in the stored attributes; the scope only links.
    const under = new Scoped(s, undefined, undefined, undefined);
    s.children = span.children.map((c) => fromPlainSpan(c, under));
  }
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
