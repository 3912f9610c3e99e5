import { errorMessage } from "../../domain/errors.js";
import { type StepResult, stepResult } from "../../domain/results.js";
import type { CacheStep, Step } from "../../dsl/step.js";
import type { CacheBackend } from "../../cache/backend.js";
import { cacheKey } from "../../cache/key.js";
import { freezeForCache, resultFromCache } from "../../cache/snapshot.js";
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
  return cachedExecution(frame, key, cached.cacheBackend, () => frame.core.run(withoutExecutorCache(frame), wrapped, data), step.name, wrapped);
};


const inflight = new WeakMap<CacheBackend, Map<string, Promise<StepResult>>>();

/**
 * The shared hit/miss/single-flight logic of both caches. `canStore` lets the executor cache refuse results
 * it could not replay faithfully.
 */
export async function cachedExecution(
  frame: Frame,
  key: string,
  backend: CacheBackend,
  run: () => Promise<StepResult>,
  logName: string,
  effectsStep: Step,
  canStore: (result: StepResult) => boolean = () => true,
): Promise<StepResult> {
  const hit = await safeGet(frame, backend, key, logName);
  if (hit !== undefined) return replayHit(frame, effectsStep, hit);
  let pending = inflight.get(backend);
  if (pending === undefined) {
    pending = new Map();
    inflight.set(backend, pending);
  }
  const running = pending.get(key);
  if (running !== undefined) {
    await running.catch(() => undefined);
    const shared = await safeGet(frame, backend, key, logName);
    if (shared !== undefined) return replayHit(frame, effectsStep, shared);
    return run();
  }
  const promise = run();
  pending.set(key, promise);
  let result: StepResult;
  try {
    result = await promise;
  } finally {
    pending.delete(key);
  }
  if (result.success && canStore(result)) {
    const frozen = freezeForCache(result);
    if (frozen !== undefined) {
      try {
        await backend.set(key, frozen);
      } catch (err) {
        frame.core.logger.warn(`Cache set failed for step '${logName}': ${errorMessage(err)}`);
      }
    }
  }
  return result;
}

async function safeGet(frame: Frame, backend: CacheBackend, key: string, logName: string): Promise<StepResult | undefined> {
  try {
    const got = backend.get(key);
    return got instanceof Promise ? await got : got;
  } catch (err) {
    frame.core.logger.warn(`Cache get failed for step '${logName}': ${errorMessage(err)}`);
    return undefined;
  }
}

async function replayHit(frame: Frame, step: Step, stored: StepResult): Promise<StepResult> {
  const result = resultFromCache(stored);
  result.branchContext = frame.context;
  const failure = await applyOutputEffects(frame, step, result.output);
  if (failure !== undefined) {
    result.success = false;
    result.feedback = failure;
  }
  return result;
}

/** The wrapped step of a CacheStep must not be cached a second time by the executor cache. */
function withoutExecutorCache(frame: Frame): Frame {
  return frame.cacheEnabled ? { ...frame, cacheEnabled: false } : frame;
}
