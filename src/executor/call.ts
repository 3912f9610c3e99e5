import { type Isolated, isolate } from "../context/index.js";
import { CancelledError, StepTimeoutError } from "../domain/errors.js";
import type { AgentRunOptions } from "../dsl/types.js";
import type { Ctx, Frame } from "./frame.js";
import type { AgentPlan } from "./plan.js";

/** A signal that never fires, shared by every call that has neither a timeout nor a user signal. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * The options object an agent, plugin or validator receives. The context is isolated lazily, on first
 * read: a step that never looks at the context pays nothing for isolation, and one that does pays for
 * what it touches (copy-on-write), never for the context's size.
 */
export class CallOptions implements AgentRunOptions {
  readonly resources: unknown;
  signal: AbortSignal;
  readonly temperature: number | undefined;
  readonly topK: number | undefined;
  readonly topP: number | undefined;
  #live: Ctx;
  #isolation: Isolated<Ctx> | undefined;

  constructor(frame: Frame, plan: AgentPlan | undefined) {
    this.#live = frame.context;
    this.resources = frame.resources;
    this.signal = frame.signal;
    const sampling = plan?.sampling;
    this.temperature = sampling?.temperature;
    this.topK = sampling?.topK;
    this.topP = sampling?.topP;
  }

  get context(): Ctx {
    if (this.#isolation === undefined) this.#isolation = isolate(this.#live);
    return this.#isolation.view;
  }

  /** The isolation, if the step read the context at all. */
  get isolation(): Isolated<Ctx> | undefined {
    return this.#isolation;
  }
}

/**
 * Calls the agent. Without a timeout or a user signal this is the bare call: no timer, no listener, no
 * AbortController. Otherwise the call races a per-attempt AbortController that the timeout and the run's
 * signal both fire, and everything is cleaned up when the call settles, so nothing dangles.
 */
export function invokeAgent(
  plan: AgentPlan,
  input: unknown,
  options: CallOptions,
  frame: Frame,
  stepName: string,
): unknown {
  const streaming = frame.onChunk !== undefined && plan.stream !== undefined;
  if (plan.timeoutMs === undefined && !frame.cancellable) {
    return streaming
      ? collectStream(plan, input, options, frame)
      : plan.call!.call(plan.agentThis, input, options);
  }
  return guardedCall(plan, input, options, frame, stepName, streaming);
}

async function guardedCall(
  plan: AgentPlan,
  input: unknown,
  options: CallOptions,
  frame: Frame,
  stepName: string,
  streaming: boolean,
): Promise<unknown> {
  if (frame.signal.aborted) throw new CancelledError("Run cancelled");
  const controller = new AbortController();
  options.signal = controller.signal;
  let timer: NodeJS.Timeout | undefined;
  let rejectAbort: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    rejectAbort = reject;
  });
  const onRunAbort = () => {
    const reason = new CancelledError("Run cancelled");
    controller.abort(reason);
    rejectAbort(reason);
  };
  if (frame.cancellable) frame.signal.addEventListener("abort", onRunAbort, { once: true });
  if (plan.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      const reason = new StepTimeoutError(`Step '${stepName}' timed out after ${plan.timeoutMs! / 1000}s`);
      controller.abort(reason);
      rejectAbort(reason);
    }, plan.timeoutMs);
  }
  try {
    const call = streaming
      ? collectStream(plan, input, options, frame)
      : plan.call!.call(plan.agentThis, input, options);
    return await Promise.race([call, aborted]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (frame.cancellable) frame.signal.removeEventListener("abort", onRunAbort);
  }
}

/** Streams the agent's chunks to the runner and returns the joined output (a string if every chunk is one). */
async function collectStream(
  plan: AgentPlan,
  input: unknown,
  options: CallOptions,
  frame: Frame,
): Promise<unknown> {
  const chunks: unknown[] = [];
  for await (const chunk of plan.stream!.call(plan.agentThis, input, options)) {
    frame.onChunk!(chunk);
    chunks.push(chunk);
  }
  return chunks.every((c) => typeof c === "string") ? chunks.join("") : chunks;
}
