import type { StepResult } from "../domain/results.js";
import { ENGINE_SLOTS, type EngineSlots, Step } from "../dsl/step.js";
import type { Frame } from "./frame.js";

/** Runs one kind of step. A policy never throws for step failures; it returns a failed StepResult. */
export type Policy = (frame: Frame, step: Step, data: unknown) => Promise<StepResult>;

// biome-ignore lint/suspicious/noExplicitAny: step classes have arbitrary constructor parameters
export type StepClass = abstract new (...args: any[]) => Step;

/**
 * Maps step classes to policies: the exact class first, then the nearest ancestor, then the default
 * (agent) policy. Lookups are memoised per class, so dispatch is one Map read after the first call.
 */
export class PolicyRegistry {
  readonly #policies = new Map<Function, Policy>();
  readonly #resolved = new Map<Function, Policy>();
  readonly #fallback: Policy;
  /** Bumped by every register(): what a step's slots remember from before is stale. */
  #version = 0;

  constructor(fallback: Policy) {
    this.#fallback = fallback;
  }

  register(stepClass: StepClass, policy: Policy): void {
    if (typeof policy !== "function")
      throw new TypeError("register(): policy must be a function (frame, step, data)");
    this.#policies.set(stepClass, policy);
    this.#resolved.clear();
    this.#version++;
  }

  /**
   * The policy of a step, remembered in its engine slots: two field reads per step execution instead of
   * a Map read (a step shared by engines with different registries falls back to the Map).
   */
  of(step: Step): Policy {
    const slots = step[ENGINE_SLOTS];
    if (slots.registry === this && slots.registryVersion === this.#version) return slots.policy as Policy;
    return this.#remember(step, slots);
  }

  #remember(step: Step, slots: EngineSlots): Policy {
    const policy = this.get(step.constructor);
    slots.registry = this;
    slots.registryVersion = this.#version;
    slots.policy = policy;
    return policy;
  }

  get(stepClass: Function): Policy {
    let policy = this.#resolved.get(stepClass);
    if (policy !== undefined) return policy;
    policy = this.#fallback;
    for (
      let c: Function | null = stepClass;
      c !== null && c !== Function.prototype;
      c = Object.getPrototypeOf(c)
    ) {
      const found = this.#policies.get(c);
      if (found !== undefined) {
        policy = found;
        break;
      }
      if (c === Step) break;
    }
    this.#resolved.set(stepClass, policy);
    return policy;
  }
}
