import { errorMessage, PipelineAbortSignal } from "../domain/errors.js";
import type { HookFunction, HookPayload } from "./events.js";

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
}

/**
 * Calls hooks in order. A hook error is logged as "Error in hook 'name': message" and swallowed (re-raised
 * when FLUJO_STRICT_HOOKS=1); PipelineAbortSignal always propagates so the runner can stop gracefully.
 */
/** Hooks made by onlyPostRun: they ignore every other event. */
const postRunOnly = new WeakSet<HookFunction>();

export class HookDispatcher {
  readonly hooks: readonly HookFunction[];
  readonly #logger: Logger;
  readonly #strict: boolean;

  constructor(hooks: readonly HookFunction[], logger: Logger) {
    this.hooks = hooks;
    this.#logger = logger;
    this.#strict = process.env.FLUJO_STRICT_HOOKS === "1";
  }

  get empty(): boolean {
    return this.hooks.length === 0;
  }

  /** Some hook sees every event (not only post_run, as an `onFinish` one does). */
  get hearsAll(): boolean {
    return this.hooks.some((h) => !postRunOnly.has(h));
  }

  async dispatch(payload: HookPayload): Promise<void> {
    for (const hook of this.hooks) {
      try {
        await hook(payload);
      } catch (err) {
        if (err instanceof PipelineAbortSignal) throw err;
        this.#logger.error(`Error in hook '${hook.name || "anonymous"}': ${errorMessage(err)}`);
        if (this.#strict) throw err;
      }
    }
  }
}

/** Wraps Pipeline.onFinish hooks so they only see post_run. */
export function onlyPostRun(hook: HookFunction): HookFunction {
  const wrapped: HookFunction = (payload) => (payload.eventName === "post_run" ? hook(payload) : undefined);
  Object.defineProperty(wrapped, "name", { value: hook.name || "onFinish" });
  postRunOnly.add(wrapped);
  return wrapped;
}
