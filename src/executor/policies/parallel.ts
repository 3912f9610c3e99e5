import { setMaxListeners } from "node:events";
import { hasOwn, isNone, isPlainObject, isUnsafeKey, putOwn, shallowCopy } from "../../context/containers.js";
import { type Isolated, isIsolatedView, isolate, mergeInto, sameData, unwrap } from "../../context/index.js";
import { defaultPipelineContext } from "../../domain/context.js";
import {
  CancelledError,
  ConfigurationError,
  errorMessage,
  errorName,
  isControlError,
  PausedException,
  PipelineAbortSignal,
  UsageLimitExceededError,
} from "../../domain/errors.js";
import { PipelineResult, type StepResult, stepResult } from "../../domain/results.js";
import { BranchFailureStrategy, type MergeFunction, MergeStrategy } from "../../domain/strategies.js";
import { Quota } from "../../domain/usage.js";
import type { ParallelSpec, ParallelStep } from "../../dsl/parallel.js";
import type { Step } from "../../dsl/step.js";
import type { Schema } from "../../dsl/types.js";
import { now } from "../clock.js";
import type { Ctx, Frame } from "../frame.js";
import type { Policy } from "../registry.js";

/** How long a usage-limit breach waits for sibling branches that are about to finish (Flujo: 50 ms). */
const GRACE_MS = 50;
/** Top-level keys Flujo merges on purpose across siblings: never a CONTEXT_UPDATE conflict. */
const MERGED_ON_PURPOSE: ReadonlySet<string> = new Set(["branchResults", "contextUpdates"]);
const ADVICE = "Set an explicit merge strategy or field_mapping in your ParallelStep.";

/**
 * Flujo's ParallelStep (flujo-behaviour.md §2.8): every branch starts on the same input with its own
 * copy-on-write view of the context, its share of the quota and its own AbortSignal; the results are
 * collected in declared order; successful branches' context changes are merged with the step's strategy.
 */
export const parallelPolicy: Policy = (frame, step, data) => runParallel(frame, step as ParallelStep, data);

/** One control-flow error from a branch that ends the fan-out early. */
interface Stop {
  kind: "pause" | "abort" | "limit" | "error";
  branch: number;
  error: unknown;
}

/** The steps of a branch (or a state's pipeline) ran one after the other, Flujo's PipelineOrchestrator. */
export interface StepsRun {
  history: StepResult[];
  output: unknown;
  costUsd: number;
  tokens: number;
  latencyS: number;
}

/**
 * Runs steps in order without stopping at a failed one: the next step gets the previous output, or the
 * last output that was not null/undefined. Control-flow errors propagate; other errors propagate too,
 * unless `recordErrors` is set, which turns one into a failed StepResult and stops (the orchestrator's
 * rule, which the state machine uses).
 */
export async function runSteps(
  frame: Frame,
  steps: readonly Step[],
  data: unknown,
  recordErrors = false,
): Promise<StepsRun> {
  const run: StepsRun = { history: [], output: undefined, costUsd: 0, tokens: 0, latencyS: 0 };
  let current = data;
  for (const step of steps) {
    if (frame.signal.aborted) throw new CancelledError("Run cancelled");
    let r: StepResult;
    try {
      r = await frame.core.run(frame, step, current);
    } catch (err) {
      if (!recordErrors || isControlError(err)) throw err;
      r = stepResult(step.name, {
        success: false,
        attempts: 1,
        feedback: errorMessage(err) || errorName(err),
        branchContext: frame.context,
      });
      run.history.push(r);
      break;
    }
    run.history.push(r);
    run.costUsd += r.costUsd;
    run.tokens += r.tokenCounts;
    run.latencyS += r.latencyS;
    if (!isNone(r.output)) current = r.output;
  }
  const last = run.history[run.history.length - 1];
  run.output = last?.output;
  return run;
}

/** The parallel algorithm, shared by ParallelStep and the router's selection of branches. */
export async function runParallel(frame: Frame, spec: ParallelSpec, data: unknown): Promise<StepResult> {
  const start = now();
  const names = spec.branchNames;
  const n = names.length;
  const live = frame.context;
  if (n === 0) {
    return stepResult(spec.name, {
      success: false,
      output: {},
      feedback: "Parallel step has no branches to execute",
      branchContext: live,
      latencyS: (now() - start) / 1000,
    });
  }
  if (frame.signal.aborted) throw new CancelledError("Run cancelled");
  // Branches isolate plain data: a view (a parallel step inside a loop) is exported once, not per branch.
  const plain = isIsolatedView(live) ? unwrap(live) : live;
  const root =
    spec.contextIncludeKeys === undefined
      ? plain
      : await includedRoot(frame.contextSchema, plain, spec.contextIncludeKeys);

  const fan = new Fanout(frame, spec, data, root, splitQuota(frame.quota, n));
  let onAbort: (() => void) | undefined;
  if (frame.cancellable) {
    // One listener for the whole fan-out, whatever the number of branches.
    onAbort = () => fan.cancelRun();
    frame.signal.addEventListener("abort", onAbort, { once: true });
  }
  try {
    fan.launch();
    await fan.until(() => fan.stop !== undefined || (fan.inFlight === 0 && fan.next >= n));
    const stop = fan.stop;
    if (stop !== undefined) {
      if (stop.kind === "limit") {
        if (fan.inFlight > 0) await fan.grace(GRACE_MS);
        fan.collecting = false;
        fan.abortAll(new CancelledError("Parallel branch cancelled: usage limit exceeded"));
        const sofar = fan.results.filter((r): r is StepResult => r !== undefined);
        throw new UsageLimitExceededError(
          (stop.error as UsageLimitExceededError).message,
          new PipelineResult({ stepHistory: sofar, finalPipelineContext: live }),
        );
      }
      fan.abortAll(new CancelledError("Parallel branch cancelled"));
      const iso = fan.isolations[stop.branch];
      if ((stop.kind === "pause" || stop.kind === "abort") && iso?.hasChanges()) {
        // The branch that paused (or aborted) keeps its context changes, as in Flujo.
        mergeInto(live, toSparse(diffTop(iso.changes(), root), live));
      }
      throw stop.error;
    }
  } finally {
    if (onAbort !== undefined) frame.signal.removeEventListener("abort", onAbort);
    fan.refund();
    fan.queued(0);
  }
  return finish(frame, spec, fan, root, start);
}

/** Runs the branches, at most `concurrencyLimit` at a time, and records how each one ends. */
class Fanout {
  readonly results: Array<StepResult | undefined>;
  readonly isolations: Array<Isolated<Ctx> | undefined>;
  /**
   * One signal for every branch: a fan-out is always stopped whole. An AbortController per branch cost
   * about a quarter of a no-op branch (bench/parallel.ts).
   */
  readonly controller = new AbortController();
  next = 0;
  inFlight = 0;
  stop: Stop | undefined;
  /** Results are recorded until the fan-out is stopped (after the grace window for a usage limit). */
  collecting = true;
  runCancelled = false;
  readonly #frame: Frame;
  readonly #spec: ParallelSpec;
  readonly #data: unknown;
  readonly #root: Ctx;
  readonly #quotas: Quota[] | undefined;
  readonly #template: Frame;
  readonly #max: number;
  /** Branches not started yet (concurrencyLimit) as last told to the observer. */
  #queued = 0;
  #waitCheck: (() => boolean) | undefined;
  #waitDone: (() => void) | undefined;

  constructor(frame: Frame, spec: ParallelSpec, data: unknown, root: Ctx, quotas: Quota[] | undefined) {
    const n = spec.branchNames.length;
    this.results = new Array(n).fill(undefined);
    this.isolations = new Array(n).fill(undefined);
    // Each branch's guarded agent calls (and the user's agents) may listen to the shared signal; it lives
    // as long as the fan-out, so many listeners are expected and none can outlive it.
    setMaxListeners(0, this.controller.signal);
    this.#frame = frame;
    this.#spec = spec;
    this.#data = data;
    this.#root = root;
    this.#quotas = quotas;
    // Branch steps start a fresh fallback chain and never stream, as in Flujo's orchestrator.
    this.#template = { ...frame, fallbackChain: [], onChunk: undefined };
    this.#max = spec.concurrencyLimit ?? n;
  }

  launch(): void {
    const n = this.results.length;
    while (this.stop === undefined && this.next < n && this.inFlight < this.#max) {
      const i = this.next++;
      this.inFlight++;
      if (this.#frame.observer !== undefined) this.queued(n - this.next);
      // runBranch never rejects: everything it throws is routed to settled()/failed().
      void this.runBranch(i);
    }
  }

  /** Tells the observer how many branches wait for a slot (its queue-length figure). */
  queued(waiting: number): void {
    const observer = this.#frame.observer;
    if (observer === undefined || waiting === this.#queued) return;
    observer.queued(waiting - this.#queued);
    this.#queued = waiting;
  }

  async runBranch(i: number): Promise<void> {
    const spec = this.#spec;
    let iso: Isolated<Ctx> | undefined;
    let result: StepResult;
    try {
      iso = isolate(this.#root);
      this.isolations[i] = iso;
      let frame: Frame = {
        ...this.#template,
        context: iso.view,
        quota: this.#quotas?.[i] ?? this.#frame.quota,
        signal: this.controller.signal,
      };
      if (frame.observer !== undefined) frame = frame.observer.branch(frame, spec.branchNames[i]);
      const run = await runSteps(frame, spec.branchSteps[i], this.#data);
      result = branchResult(`${spec.name}_${spec.branchNames[i]}`, run, iso.view);
    } catch (err) {
      if (isControlError(err)) {
        this.failed(i, err);
        return;
      }
      result = stepResult(`${spec.name}_${spec.branchNames[i]}`, {
        success: false,
        attempts: 1,
        feedback: `Branch execution failed with ${errorName(err)}: ${errorMessage(err)}`,
        branchContext: iso?.view,
        metadata: { exceptionType: errorName(err) },
      });
    }
    this.settled(i, result);
  }

  settled(i: number, result: StepResult): void {
    this.inFlight--;
    if (this.collecting) this.results[i] = result;
    this.launch();
    this.poke();
  }

  failed(i: number, err: unknown): void {
    this.inFlight--;
    if (err instanceof UsageLimitExceededError) {
      // Flujo keeps the breaching step's result as the branch's result.
      const history = err.result?.stepHistory;
      const last = history?.[history.length - 1];
      if (this.collecting && last !== undefined) this.results[i] = last;
      this.stop ??= { kind: "limit", branch: i, error: err };
    } else if (this.stop === undefined) {
      const kind =
        err instanceof PausedException ? "pause" : err instanceof PipelineAbortSignal ? "abort" : "error";
      this.stop = { kind, branch: i, error: err };
      this.collecting = false;
    }
    this.launch();
    this.poke();
  }

  /** The run's signal fired: stop at once and cancel every branch. */
  cancelRun(): void {
    this.runCancelled = true;
    if (this.stop === undefined) {
      this.stop = { kind: "error", branch: -1, error: new CancelledError("Run cancelled") };
      this.collecting = false;
    }
    this.abortAll(new CancelledError("Run cancelled"));
    this.poke();
  }

  abortAll(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waitCheck = check;
      this.#waitDone = resolve;
    });
  }

  /** Waits until the branches still running have finished, the run is cancelled, or `ms` have passed. */
  grace(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waitCheck = undefined;
        this.#waitDone = undefined;
        resolve();
      }, ms);
      this.#waitCheck = () => this.inFlight === 0 || this.runCancelled;
      this.#waitDone = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  poke(): void {
    const check = this.#waitCheck;
    if (check === undefined || !check()) return;
    const done = this.#waitDone!;
    this.#waitCheck = undefined;
    this.#waitDone = undefined;
    done();
  }

  /** Gives the parent quota back what the branches did not use. */
  refund(): void {
    const children = this.#quotas;
    if (children === undefined) return;
    const parent = this.#frame.quota;
    const limits = parent.limits;
    for (const child of children) {
      if (limits.totalCostUsdLimit !== undefined) parent.remainingCostUsd += child.remainingCostUsd;
      if (limits.totalTokensLimit !== undefined) parent.remainingTokens += child.remainingTokens;
    }
  }
}

/** A branch's StepResult from its steps, with Flujo's name, feedback and metadata. */
function branchResult(name: string, run: StepsRun, context: Ctx): StepResult {
  const history = run.history;
  let failed = 0;
  let feedback = "";
  for (const r of history) {
    if (r.success) continue;
    let detail = `step '${r.name}'`;
    if (r.attempts > 1) detail += ` (after ${r.attempts} attempts)`;
    if (r.feedback) detail += `: ${r.feedback}`;
    feedback = failed === 0 ? `Pipeline failed - ${detail}` : `${feedback}; ${detail}`;
    failed++;
  }
  if (failed === 0 && history.length > 0) feedback = history[history.length - 1].feedback || "";
  return {
    name,
    output: run.output,
    success: history.length > 0 && failed === 0,
    attempts: 1,
    latencyS: run.latencyS,
    tokenCounts: run.tokens,
    costUsd: run.costUsd,
    feedback,
    branchContext: context,
    metadata: { failedStepsCount: failed, totalStepsCount: history.length },
    stepHistory: history,
  };
}

/** Steps 6-9 of §2.8: success, output, reduce, context merge, totals and feedback. */
async function finish(
  frame: Frame,
  spec: ParallelSpec,
  fan: Fanout,
  root: Ctx,
  start: number,
): Promise<StepResult> {
  const names = spec.branchNames;
  const n = names.length;
  const results = fan.results as StepResult[];
  const live = frame.context;
  let cost = 0;
  let tokens = 0;
  let anySuccess = false;
  const failures: string[] = [];
  const output: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const r = results[i];
    cost += r.costUsd;
    tokens += r.tokenCounts;
    if (r.success) anySuccess = true;
    else failures.push(`branch '${names[i]}' failed: ${r.feedback ?? ""}`);
    putOwn(output, names[i], r.success ? r.output : r);
  }
  const allOk = failures.length === 0;
  const result: StepResult = stepResult<unknown>(spec.name, {
    output,
    success: spec.onBranchFailure === BranchFailureStrategy.IGNORE ? anySuccess : allOk,
    attempts: 1,
    branchContext: live,
    stepHistory: results.slice(),
  });

  const reducer = spec.reduce;
  if (reducer !== undefined) {
    try {
      let reduced = reducer(results.slice(), live, output);
      if (isThenable(reduced)) reduced = await reduced;
      if (isStepResult(reduced)) {
        result.output = reduced.output;
        result.success = reduced.success;
        result.feedback = reduced.feedback;
        result.metadata.reducedFrom = { strategy: reducer.name || "reduce", selectedStep: reduced.name };
      } else if (!isNone(reduced)) {
        result.output = reduced;
      }
    } catch {
      // A failing reducer keeps the output map, which is the more useful thing to debug with (Flujo).
    }
  }
  result.metadata.executedBranches = names.slice();

  if (spec.mergeStrategy !== MergeStrategy.NO_MERGE) {
    try {
      const ok: Branch[] = [];
      for (let i = 0; i < n; i++) {
        const iso = fan.isolations[i];
        if (results[i].success && iso !== undefined) ok.push(new Branch(names[i], results[i], iso, root));
      }
      await mergeBranches(spec, live, root, ok);
    } catch (err) {
      if (!(err instanceof ConfigurationError)) {
        frame.core.logger.error(`Context merging failed: ${errorMessage(err)}`);
      } else {
        result.success = false;
        result.feedback = err.message;
      }
    }
  }

  result.costUsd = cost;
  result.tokenCounts = tokens;
  if (result.success) {
    result.feedback = allOk
      ? `All ${n} branches executed successfully`
      : `Parallel step completed with ${failures.length} branch failures (ignored)`;
  } else if (!result.feedback) {
    if (failures.length === 1) result.feedback = failures[0];
    else {
      const succeeded = n - failures.length;
      let summary = `Parallel step failed: ${failures.length} of ${n} branches failed`;
      if (succeeded > 0) summary += ` (${succeeded} succeeded)`;
      result.feedback = `${summary}. Failures: ${failures.join("; ")}`;
    }
  }
  result.latencyS = (now() - start) / 1000;
  return result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

function isStepResult(value: unknown): value is StepResult {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Partial<StepResult>;
  return (
    typeof r.name === "string" &&
    typeof r.success === "boolean" &&
    typeof r.attempts === "number" &&
    Array.isArray(r.stepHistory)
  );
}

// ---------------------------------------------------------------------------------------------------
// Quota

/**
 * Flujo's split: each branch gets cost/n and floor(tokens/n) (the remainder to the first branches) of
 * what is left, the parent keeps nothing until the refund. Only limited figures are split; an unlimited
 * one stays shared. No limits at all: the branches share the parent's quota.
 */
function splitQuota(parent: Quota, n: number): Quota[] | undefined {
  if (!parent.limited) return undefined;
  const costLimited = parent.limits.totalCostUsdLimit !== undefined;
  const tokensLimited = parent.limits.totalTokensLimit !== undefined;
  const cost = parent.remainingCostUsd;
  const tokens = parent.remainingTokens;
  const tokensEach = Math.floor(tokens / n);
  const remainder = tokens - tokensEach * n;
  const children: Quota[] = [];
  for (let i = 0; i < n; i++) {
    const child = new Quota(parent.limits);
    child.remainingCostUsd = costLimited ? cost / n : cost;
    child.remainingTokens = tokensLimited ? tokensEach + (i < remainder ? 1 : 0) : tokens;
    children.push(child);
  }
  if (costLimited) parent.remainingCostUsd = 0;
  if (tokensLimited) parent.remainingTokens = 0;
  return children;
}

// ---------------------------------------------------------------------------------------------------
// Context for contextIncludeKeys

/**
 * The context branches start from with `contextIncludeKeys` (Flujo rebuilds the model): included keys keep
 * their values; the others read as PipelineContext defaults and the user schema's defaults; user fields
 * the schema requires and that have no default keep their value; other keys are absent. The run id is
 * kept. Built once per parallel step and shared by the branches (isolation never writes it).
 */
async function includedRoot(schema: Schema | undefined, live: Ctx, keys: readonly string[]): Promise<Ctx> {
  const root: Ctx = defaultPipelineContext(typeof live.runId === "string" ? live.runId : undefined);
  const included = new Set(keys);
  if (schema !== undefined) {
    const parsed = await schemaDefaults(schema, live, root, keys, included);
    if (parsed !== undefined) {
      for (const key of Object.keys(parsed)) {
        if (!included.has(key) && !isUnsafeKey(key)) putOwn(root, key, parsed[key]);
      }
    }
  }
  for (const key of keys) if (hasOwn(live, key)) putOwn(root, key, live[key]);
  return root;
}

/** What the schema makes of the defaults plus the included keys (plus required fields it asks for). */
async function schemaDefaults(
  schema: Schema,
  live: Ctx,
  defaults: Ctx,
  keys: readonly string[],
  included: ReadonlySet<string>,
): Promise<Ctx | undefined> {
  const candidate = shallowCopy(defaults);
  for (const key of keys) if (hasOwn(live, key)) putOwn(candidate, key, live[key]);
  for (let round = 0; round < 2; round++) {
    let outcome = schema["~standard"].validate(candidate);
    if (outcome instanceof Promise) outcome = await outcome;
    if (outcome.issues === undefined) {
      const value = outcome.value;
      return isPlainObject(value) ? value : undefined;
    }
    let copied = false;
    for (const issue of outcome.issues) {
      const seg = issue.path?.[0];
      const key = typeof seg === "object" && seg !== null ? seg.key : seg;
      if (typeof key !== "string" || included.has(key) || isUnsafeKey(key) || !hasOwn(live, key)) continue;
      if (candidate[key] === live[key]) continue;
      candidate[key] = live[key];
      copied = true;
    }
    if (!copied) return undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// What a branch changed, conflicts between branches, and merges

/**
 * A value a branch moved away from the context it started from. `children` is set when both the branch's
 * value and the starting value are plain objects: then only the keys the branch changed are listed, and
 * everything else under it is the starting value (shared by reference, so it is never walked).
 */
interface Change {
  /** The branch's value (plain data); undefined for a node that unites several branches' changes. */
  value: unknown;
  children: Changes | undefined;
}
type Changes = Map<string, Change>;

/** A successful branch, with what it changed, computed once. */
class Branch {
  readonly name: string;
  readonly result: StepResult;
  readonly iso: Isolated<Ctx>;
  /** Top-level key -> new value (plain data), as exported by the isolation. */
  readonly exported: Record<string, unknown>;
  readonly changes: Changes;
  readonly #root: Ctx;

  constructor(name: string, result: StepResult, iso: Isolated<Ctx>, root: Ctx) {
    this.name = name;
    this.result = result;
    this.iso = iso;
    this.#root = root;
    this.exported = iso.hasChanges() ? iso.changes() : {};
    this.changes = diffTop(this.exported, root);
  }

  /** The branch's value of a top-level key, as plain data. */
  valueOf(key: string): unknown {
    if (hasOwn(this.exported, key)) return this.exported[key];
    return hasOwn(this.#root, key) ? this.#root[key] : undefined;
  }
}

function diffTop(exported: Record<string, unknown>, root: Ctx): Changes {
  const out: Changes = new Map();
  for (const key of Object.keys(exported)) {
    const value = exported[key];
    // A deleted or nulled top-level key never reaches the parent: merges skip null sources.
    if (isNone(value) || isUnsafeKey(key)) continue;
    const change = hasOwn(root, key) ? diffValue(value, root[key]) : { value, children: undefined };
    if (change !== undefined) out.set(key, change);
  }
  return out;
}

function diffValue(value: unknown, base: unknown): Change | undefined {
  if (value === base) return undefined;
  if (!isPlainObject(value) || !isPlainObject(base)) return { value, children: undefined };
  let children: Changes | undefined;
  for (const key of Object.keys(value)) {
    if (isUnsafeKey(key)) continue;
    const v = value[key];
    let change: Change | undefined;
    if (hasOwn(base, key)) change = diffValue(v, base[key]);
    else if (v !== undefined) change = { value: v, children: undefined };
    if (change === undefined) continue;
    children ??= new Map();
    children.set(key, change);
  }
  return children === undefined ? undefined : { value, children };
}

/**
 * The changes as a merge source: only what changed, as plain objects, with whole values wherever the
 * target has no plain object to merge into. mergeInto then costs O(changes), not O(context).
 */
function toSparse(changes: Changes, target: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const into = isPlainObject(target) ? target : undefined;
  for (const [key, change] of changes) {
    if (change.children !== undefined) {
      const current = into !== undefined && hasOwn(into, key) ? into[key] : undefined;
      if (isPlainObject(current) || change.value === undefined) {
        putOwn(out, key, toSparse(change.children, current));
        continue;
      }
    }
    putOwn(out, key, change.value);
  }
  return out;
}

/**
 * Unites branches' changes when no two of them touch the same path, so the parent is merged once:
 * merging path-disjoint changes one branch at a time or all at once gives the same context, and doing it
 * once avoids copying a shared container (stepOutputs) once per branch. Undefined on any overlap.
 */
function unite(branches: readonly Branch[]): Changes | undefined {
  const into: Changes = new Map();
  const owned = new WeakSet<Change>();
  for (const b of branches) if (!uniteInto(into, b.changes, owned)) return undefined;
  return into;
}

function uniteInto(into: Changes, from: Changes, owned: WeakSet<Change>): boolean {
  for (const [key, change] of from) {
    const have = into.get(key);
    if (have === undefined) {
      into.set(key, change);
      continue;
    }
    if (have.children === undefined || change.children === undefined) return false;
    let node = have;
    if (!owned.has(node)) {
      node = { value: undefined, children: new Map(have.children) };
      owned.add(node);
      into.set(key, node);
    }
    if (!uniteInto(node.children!, change.children, owned)) return false;
  }
  return true;
}

function mergeChanges(live: Ctx, changes: Changes, strategy: MergeStrategy | undefined): void {
  if (changes.size > 0) mergeInto(live, toSparse(changes, live), strategy);
}

/** Merges the branches one by one, or all at once when their changes do not overlap. */
function mergeAll(live: Ctx, branches: readonly Branch[], strategy: MergeStrategy | undefined): void {
  const united = branches.length > 1 ? unite(branches) : undefined;
  if (united !== undefined) mergeChanges(live, united, strategy);
  else for (const b of branches) mergeChanges(live, b.changes, strategy);
}

/** Step 8 of §2.8, on what the successful branches changed. Throws ConfigurationError on a conflict. */
async function mergeBranches(spec: ParallelSpec, live: Ctx, root: Ctx, ok: readonly Branch[]): Promise<void> {
  const strategy = spec.mergeStrategy;
  if (typeof strategy === "function") {
    const contexts: Record<string, Ctx> = {};
    for (const b of ok) putOwn(contexts, b.name, b.iso.materialize());
    const done = (strategy as MergeFunction)(live, contexts) as unknown;
    if (isThenable(done)) await done;
  } else if (strategy === MergeStrategy.CONTEXT_UPDATE) {
    detectConflicts(ok, root);
    const mapping = spec.fieldMapping;
    const plain =
      (mapping === undefined || ok.every((b) => !hasOwn(mapping, b.name))) &&
      ok.every((b) => !b.changes.has("branchResults") && !b.changes.has("contextUpdates"));
    if (plain) mergeAll(live, ok, undefined);
    else for (const b of ok) mergeContextUpdate(live, b, mapping?.[b.name]);
  } else if (strategy === MergeStrategy.OVERWRITE) {
    const last = ok[ok.length - 1];
    if (last !== undefined) {
      const include = spec.contextIncludeKeys;
      if (include !== undefined) {
        for (const key of include) {
          const value = last.exported[key];
          if (hasOwn(last.exported, key) && value !== undefined) putOwn(live, key, value);
        }
      } else {
        mergeChanges(live, last.changes, MergeStrategy.OVERWRITE);
        uniteStepOutputs(live, ok);
      }
    }
  } else {
    mergeAll(live, ok, strategy);
  }
  recordExecutedBranches(live, ok, strategy === MergeStrategy.OVERWRITE);
}

/** CONTEXT_UPDATE for one branch: its fieldMapping fields, or branchResults/contextUpdates then the merge. */
function mergeContextUpdate(live: Ctx, b: Branch, fields: readonly string[] | undefined): void {
  if (fields !== undefined) {
    // Only fields the branch changed: an untouched copy would undo a sibling's change.
    for (const key of fields) {
      const value = b.exported[key];
      if (hasOwn(b.exported, key) && value !== undefined) putOwn(live, key, value);
    }
    return;
  }
  let changes = b.changes;
  for (const attr of MERGED_ON_PURPOSE) {
    const change = changes.get(attr);
    const target = live[attr];
    const source = change?.value;
    if (change === undefined || !hasOwn(live, attr) || !isPlainObject(target) || !isPlainObject(source))
      continue;
    // Flujo's dict.update: the keys the branch set replace the parent's, without a deep merge.
    const next = shallowCopy(target);
    for (const key of change.children?.keys() ?? Object.keys(source)) {
      if (!isUnsafeKey(key)) putOwn(next, key, source[key]);
    }
    live[attr] = next;
    if (changes === b.changes) changes = new Map(changes);
    changes.delete(attr);
  }
  mergeChanges(live, changes, undefined);
}

/** OVERWRITE also unions every successful branch's stepOutputs, in branch-name order (Flujo). */
function uniteStepOutputs(live: Ctx, ok: readonly Branch[]): void {
  const target = live.stepOutputs;
  if (!isPlainObject(target)) return;
  let next: Ctx | undefined;
  for (const b of [...ok].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    const change = b.changes.get("stepOutputs");
    const source = change?.value;
    if (change === undefined || !isPlainObject(source)) continue;
    for (const key of change.children?.keys() ?? Object.keys(source)) {
      if (isUnsafeKey(key)) continue;
      next ??= shallowCopy(target);
      putOwn(next, key, source[key]);
    }
  }
  if (next !== undefined) live.stepOutputs = next;
}

/** Flujo's `executed_branches` / `branch_results` bookkeeping, for contexts that have those fields. */
function recordExecutedBranches(live: Ctx, ok: readonly Branch[], overwrite: boolean): void {
  if (!hasOwn(live, "executedBranches")) return;
  const hasResults = hasOwn(live, "branchResults");
  if (overwrite) {
    const last = ok[ok.length - 1];
    if (last === undefined) {
      live.executedBranches = [];
      if (hasResults) live.branchResults = {};
      return;
    }
    live.executedBranches = [last.name];
    if (hasResults) {
      const own = last.valueOf("branchResults");
      if (isPlainObject(own) && Object.keys(own).length > 0) live.branchResults = shallowCopy(own);
      else {
        const fresh: Ctx = {};
        putOwn(fresh, last.name, last.result.output);
        live.branchResults = fresh;
      }
    }
    return;
  }
  const executed = new Set<unknown>();
  for (const b of ok) {
    const own = b.valueOf("executedBranches");
    if (Array.isArray(own)) for (const name of own) executed.add(name);
  }
  for (const b of ok) executed.add(b.name);
  live.executedBranches = [...executed];
  if (hasResults) {
    const merged: Ctx = {};
    for (const b of ok) {
      const own = b.valueOf("branchResults");
      if (!isPlainObject(own)) continue;
      for (const key of Object.keys(own)) if (!isUnsafeKey(key)) putOwn(merged, key, own[key]);
    }
    live.branchResults = merged;
  }
}

/**
 * CONTEXT_UPDATE's sibling check (§2.8 step 8.1) on what the branches changed: a path two branches both
 * moved away from the starting context, to different non-null values that are not both numbers (or
 * booleans) and not lists, is a conflict. Same rules as `detectSiblingConflicts(changes, base)`, but all
 * branches are compared at once per path: O(changes) instead of O(branches² × changed keys).
 */
function detectConflicts(ok: readonly Branch[], root: Ctx): void {
  if (ok.length < 2) return;
  const groups = new Map<string, Array<[number, Change]>>();
  ok.forEach((b, index) => {
    for (const [key, change] of b.changes) {
      if (key.startsWith("_") || MERGED_ON_PURPOSE.has(key)) continue;
      addTo(groups, key, [index, change]);
    }
  });
  for (const [key, group] of groups) {
    if (group.length > 1) checkGroup(group, hasOwn(root, key) ? root[key] : undefined, key, ok);
  }
}

function addTo<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}

function checkGroup(
  items: Array<[number, Change]>,
  base: unknown,
  path: string,
  ok: readonly Branch[],
): void {
  const conflict = (a: number, b: number): never => {
    const [first, second] = a < b ? [a, b] : [b, a];
    throw new ConfigurationError(
      `Merge conflict for key '${path}'. Branches '${ok[first].name}' and '${ok[second].name}' set different values. ${ADVICE}`,
    );
  };
  let firstNumber: [number, Change] | undefined;
  let firstOther: [number, Change] | undefined;
  const objects: Array<[number, Change]> = [];
  for (const item of items) {
    const value = item[1].value;
    if (isPlainObject(value)) {
      objects.push(item);
      continue;
    }
    if (Array.isArray(value) || isNone(value) || sameData(value, base)) continue;
    if (typeof value === "number" || typeof value === "boolean") {
      if (firstOther !== undefined) conflict(firstOther[0], item[0]);
      firstNumber ??= item;
    } else {
      if (firstNumber !== undefined) conflict(firstNumber[0], item[0]);
      if (firstOther !== undefined && !sameData(firstOther[1].value, value)) conflict(firstOther[0], item[0]);
      firstOther ??= item;
    }
  }
  const leaf = firstOther ?? firstNumber;
  if (leaf !== undefined) {
    for (const item of objects) if (!sameData(item[1].value, base)) conflict(leaf[0], item[0]);
  }
  if (objects.length < 2) return;
  // Objects: compare per key, only the keys each branch changed (or all keys of an object it put there).
  const byKey = new Map<string, Array<[number, Change]>>();
  for (const [index, change] of objects) {
    const value = change.value as Record<string, unknown>;
    if (change.children !== undefined) {
      for (const [key, child] of change.children) {
        if (key.startsWith("_")) continue;
        addTo(byKey, key, [index, child]);
      }
    } else {
      for (const key of Object.keys(value)) {
        if (key.startsWith("_") || isUnsafeKey(key)) continue;
        addTo(byKey, key, [index, { value: value[key], children: undefined }]);
      }
    }
  }
  const baseObject = isPlainObject(base) ? base : undefined;
  for (const [key, group] of byKey) {
    if (group.length < 2) continue;
    const childBase = baseObject !== undefined && hasOwn(baseObject, key) ? baseObject[key] : undefined;
    checkGroup(group, childBase, `${path}.${key}`, ok);
  }
}
