import { ConfigurationError } from "../domain/errors.js";
import { describe } from "./config.js";
import { Pipeline } from "./pipeline.js";
import { Step, stepKinds } from "./step.js";

type Ctx = Record<string, unknown>;

/** What a transition's `when` sees: the event and the last step of the state's pipeline. */
export interface TransitionPayload {
  event: "success" | "failure" | "pause";
  lastOutput: unknown;
  lastStep:
    | { name: string | undefined; success: boolean | undefined; feedback: string | undefined }
    | undefined;
}

export interface TransitionRule {
  /** The state the rule applies in, or "*" for any state. */
  from: string;
  /** The outcome of the state's pipeline: its last step succeeded or failed, or it paused. */
  on: "success" | "failure" | "pause";
  /** The next state: a state or an end state. */
  to: string;
  /** The rule applies only when this returns true; a throw counts as false. */
  when?: ((payload: TransitionPayload, context: Ctx) => unknown) | undefined;
}

export interface StateMachineOptions {
  name: string;
  /** State name -> the Pipeline (or Step) run in that state. */
  states: Record<string, Pipeline | Step>;
  /** Where the machine starts unless the context's `currentState` names another state. */
  startState: string;
  /** Reaching one of these stops the machine. */
  endStates?: readonly string[] | undefined;
  /** Checked in order; the first that matches picks the next state. */
  transitions?: readonly TransitionRule[] | undefined;
}

const EVENTS: ReadonlySet<unknown> = new Set(["success", "failure", "pause"]);
const UNSAFE_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Flujo's StateMachineStep: runs the current state's pipeline, picks the next state from the first
 * matching transition (else the context's `nextState`, else a `nextState` key in an output), and stops at
 * an end state, when no next state is known, or after 10 hops per state.
 */
export class StateMachineStep extends Step {
  readonly states: Readonly<Record<string, Pipeline>>;
  readonly startState: string;
  readonly endStates: readonly string[];
  readonly transitions: readonly Readonly<TransitionRule>[];

  override get isComplex(): boolean {
    return true;
  }

  constructor(options: StateMachineOptions) {
    super({ name: options?.name });
    const kind = `StateMachineStep '${options.name}'`;
    const statesIn = options.states;
    if (typeof statesIn !== "object" || statesIn === null || Array.isArray(statesIn)) {
      throw new ConfigurationError(
        `${kind}: states must be an object of state name -> Pipeline or Step, got ${describe(statesIn)}`,
      );
    }
    const states: Record<string, Pipeline> = {};
    for (const [state, value] of Object.entries(statesIn)) {
      if (state === "" || UNSAFE_NAMES.has(state)) {
        throw new ConfigurationError(`${kind}: ${describe(state)} cannot be a state name`);
      }
      if (value instanceof Pipeline) states[state] = value;
      else if (value instanceof Step) states[state] = Pipeline.fromStep(value);
      else {
        throw new ConfigurationError(
          `${kind}: state '${state}' must be a Pipeline or a Step, got ${describe(value)}`,
        );
      }
    }
    const endStates = options.endStates ?? [];
    if (!Array.isArray(endStates) || endStates.some((s) => typeof s !== "string" || s === "")) {
      throw new ConfigurationError(
        `${kind}: endStates must be an array of state names, got ${describe(endStates)}`,
      );
    }
    const known = (s: string) => Object.hasOwn(states, s) || endStates.includes(s);
    const start = options.startState;
    if (typeof start !== "string" || !known(start)) {
      throw new ConfigurationError(
        `${kind}: startState must name a state or an end state, got ${describe(start)}`,
      );
    }
    const rules = options.transitions ?? [];
    if (!Array.isArray(rules)) {
      throw new ConfigurationError(`${kind}: transitions must be an array, got ${describe(rules)}`);
    }
    const transitions = rules.map((rule, i) => {
      const at = `${kind}: transitions[${i}]`;
      if (typeof rule !== "object" || rule === null) {
        throw new ConfigurationError(
          `${at} must be an object { from, on, to, when? }, got ${describe(rule)}`,
        );
      }
      const { from, on, to, when } = rule as TransitionRule;
      if (typeof from !== "string" || (from !== "*" && !Object.hasOwn(states, from))) {
        throw new ConfigurationError(`${at}: 'from' references unknown state: ${describe(from)}`);
      }
      if (!EVENTS.has(on)) {
        throw new ConfigurationError(
          `${at}: 'on' must be "success", "failure" or "pause", got ${describe(on)}`,
        );
      }
      if (typeof to !== "string" || !known(to)) {
        throw new ConfigurationError(
          `${at}: 'to' must be an existing state or an end state: ${describe(to)}`,
        );
      }
      if (when !== undefined && typeof when !== "function") {
        throw new ConfigurationError(
          `${at}: 'when' must be a function (payload, context), got ${describe(when)}`,
        );
      }
      return Object.freeze({ from, on, to, when });
    });
    this.states = Object.freeze(states);
    this.startState = start;
    this.endStates = Object.freeze([...endStates]);
    this.transitions = Object.freeze(transitions);
    if (new.target === StateMachineStep) Object.freeze(this);
  }
}

stepKinds.stateMachine = (options) => new StateMachineStep(options);
