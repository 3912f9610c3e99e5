import type { CacheBackend } from "../../cache/backend.js";
import { cacheKey } from "../../cache/key.js";
import { freezeForCache, resultFromCache } from "../../cache/snapshot.js";
import { errorMessage } from "../../domain/errors.js";
import { type StepResult, stepResult } from "../../domain/results.js";
import type { CacheStep, Step } from "../../dsl/step.js";
import type { Frame } from "../frame.js";
import type { Policy } from "../registry.js";
import { applyOutputEffects } from "./effects.js";

/**
 * Flujo's CacheStep policy: key over the wrapped step and the input; a hit is returned without running
 * anything; a miss runs the wrapped step and stores it only if it succeeded. Concurrent identical misses
 * share one execution. Unlike the executor cache, an input that cannot be encoded is an error here: the
 * user asked for caching, so silently not caching would hide the problem.
 */
export const cachePolicy: Policy = async (frame, step, data) => {
  const cached = step as CacheStep;
  const wrapped = cached.wrappedStep;
  let key: string;
  try {
    key = cacheKey(wrapped, data);
  } catch (err) {
    return stepResult(step.name, {
      success: false,
      feedback: `Step '${step.name}': cannot compute a cache key for this input: ${errorMessage(err)}`,
    });
  }
  const inner = withoutExecutorCache(frame);
  return cachedExecution(
    frame,
    key,
    cached.cacheBackend,
    () => frame.core.run(inner, wrapped, data),
    wrapped,
  );
};

/** The wrapped step of a CacheStep must not be cached a second time by the executor cache. */
function withoutExecutorCache(frame: Frame): Frame {
  return frame.cacheEnabled ? { ...frame, cacheEnabled: false } : frame;
}

const inflight = new WeakMap<CacheBackend, Map<string, Promise<StepResult>>>();

/**
 * The hit/miss/single-flight logic shared by CacheStep and the executor cache. It stays synchronous up to
 * the step's own promise (one `.then`, no extra awaits), because the executor cache is on by default and
 * sits on every plain step's path. `canStore` lets the executor cache refuse results it could not replay.
 */
export function cachedExecution(
  frame: Frame,
  key: string,
  backend: CacheBackend,
  run: () => Promise<StepResult>,
  step: Step,
  canStore?: (result: StepResult) => boolean,
): Promise<StepResult> {
  const got = safeGet(frame, backend, key, step.name);
  if (got instanceof Promise)
    return got.then((hit) => afterGet(frame, key, backend, run, step, canStore, hit));
  return afterGet(frame, key, backend, run, step, canStore, got);
}

function afterGet(
  frame: Frame,
  key: string,
  backend: CacheBackend,
  run: () => Promise<StepResult>,
  step: Step,
  canStore: ((result: StepResult) => boolean) | undefined,
  hit: StepResult | undefined,
): Promise<StepResult> {
  if (hit !== undefined) return replayHit(frame, step, hit);
  let pending = inflight.get(backend);
  if (pending === undefined) {
    pending = new Map();
    inflight.set(backend, pending);
  }
  const running = pending.get(key);
  if (running !== undefined) return joinRunning(frame, key, backend, run, step, running);
  const promise = run();
  pending.set(key, promise);
  const map = pending;
  return promise.then(
    (result) => {
      map.delete(key);
      if (result.success && (canStore === undefined || canStore(result)))
        return store(frame, backend, key, step, result);
      return result;
    },
    (err: unknown) => {
      map.delete(key);
      throw err;
    },
  );
}

/** A concurrent identical miss waits for the running one and then reads what it stored. */
async function joinRunning(
  frame: Frame,
  key: string,
  backend: CacheBackend,
  run: () => Promise<StepResult>,
  step: Step,
  running: Promise<StepResult>,
): Promise<StepResult> {
  await running.catch(() => undefined);
  let shared = safeGet(frame, backend, key, step.name);
  if (shared instanceof Promise) shared = await shared;
  if (shared !== undefined) return replayHit(frame, step, shared);
  return run();
}

function store(
  frame: Frame,
  backend: CacheBackend,
  key: string,
  step: Step,
  result: StepResult,
): StepResult | Promise<StepResult> {
  const frozen = freezeForCache(result);
  if (frozen === undefined) return result;
  const warn = (err: unknown) =>
    frame.core.logger.warn(`Cache set failed for step '${step.name}': ${errorMessage(err)}`);
  try {
    const done = backend.set(key, frozen);
    if (done instanceof Promise)
      return done.then(
        () => result,
        (err: unknown) => {
          warn(err);
          return result;
        },
      );
  } catch (err) {
    warn(err);
  }
  return result;
}

function safeGet(
  frame: Frame,
  backend: CacheBackend,
  key: string,
  name: string,
): StepResult | undefined | Promise<StepResult | undefined> {
  const warn = (err: unknown) => {
    frame.core.logger.warn(`Cache get failed for step '${name}': ${errorMessage(err)}`);
    return undefined;
  };
  try {
    const got = backend.get(key);
    return got instanceof Promise ? got.catch(warn) : got;
  } catch (err) {
    return warn(err);
  }
}

function replayHit(frame: Frame, step: Step, stored: StepResult): Promise<StepResult> {
  const result = resultFromCache(stored);
  result.branchContext = frame.context;
  const failure = applyOutputEffects(frame, step, result.output);
  if (failure instanceof Promise) return failure.then((f) => markFailed(result, f));
  return Promise.resolve(markFailed(result, failure));
}

function markFailed(result: StepResult, failure: string | undefined): StepResult {
  if (failure !== undefined) {
    result.success = false;
    result.feedback = failure;
  }
  return result;
}
