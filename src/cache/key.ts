import { ENGINE_SLOTS, type Step } from "../dsl/step.js";
import { hot } from "../native/index.js";
import { CanonicalWriter } from "../native/js/canonical.js";

/**
 * Cache keys: `"{step name}:{hash128(fingerprint, canonical input)}"` (docs/canonical-encoding.md). The
 * fingerprint describes what the step does, not which run it is in: context and resources never enter the
 * key. It is computed once per step object; per call only the input is encoded and hashed.
 */
interface KeyPrefix {
  /** `"{step name}:"`. */
  readonly name: string;
  /** The canonical encoding of the fingerprint's hash (a string), written before each input. */
  readonly fingerprint: Uint8Array;
}

const writer = new CanonicalWriter();

export function cacheKey(step: Step, input: unknown): string {
  // Kept in the step's engine slots (steps are immutable), computed on the step's first key.
  const slots = step[ENGINE_SLOTS];
  let prefix = slots.cacheKeyPrefix as KeyPrefix | undefined;
  if (prefix === undefined) {
    writer.reset();
    writer.writeValue(fingerprintHash(step));
    prefix = { name: `${step.name}:`, fingerprint: writer.bytes().slice() };
    slots.cacheKeyPrefix = prefix;
  }
  writer.reset();
  writer.writeEncoded(prefix.fingerprint);
  writer.writeValue(input);
  return prefix.name + hot.hash128(writer.bytes());
}

/**
 * The step's fingerprint: name, agent (its class, model, system prompt and code), config, processors,
 * plugins (with priorities), validators and context settings. Code is included so that editing a function
 * changes its keys, which matters once caches persist across restarts.
 */
export function stepFingerprint(step: Step): Record<string, unknown> {
  return {
    name: step.name,
    agent: describeCallable(step.agent),
    config: {
      maxRetries: step.config.maxRetries,
      timeoutS: step.config.timeoutS ?? null,
      temperature: step.config.temperature ?? null,
      topK: step.config.topK ?? null,
      topP: step.config.topP ?? null,
    },
    processors: {
      promptProcessors: step.processors.promptProcessors.map(describeCallable),
      outputProcessors: step.processors.outputProcessors.map(describeCallable),
    },
    plugins: step.plugins.map(([plugin, priority]) => [describeCallable(plugin), priority]),
    validators: step.validators.map(describeCallable),
    updatesContext: step.updatesContext,
    sinkTo: step.sinkTo ?? null,
  };
}

function fingerprintHash(step: Step): string {
  const w = new CanonicalWriter();
  w.writeValue(stepFingerprint(step));
  return hot.hash128(w.bytes());
}

function describeCallable(target: unknown): Record<string, unknown> | null {
  if (target === undefined || target === null) return null;
  if (typeof target === "function") return { type: "function", name: target.name, code: target.toString() };
  const obj = target as Record<string, unknown>;
  const ctor = (obj.constructor as { name?: string } | undefined)?.name ?? "Object";
  const method = ["run", "validate", "process"].map((m) => obj[m]).find((f) => typeof f === "function");
  return {
    type: ctor,
    name: typeof obj.name === "string" ? obj.name : null,
    modelId: typeof obj.modelId === "string" ? obj.modelId : null,
    systemPrompt: typeof obj.systemPrompt === "string" ? obj.systemPrompt : null,
    code: typeof method === "function" ? method.toString() : null,
  };
}
