/**
 * The names expressions and templates see (Flujo's `previous_step`, `output`, `context`, `steps`,
 * `resume_input`, and `this` in templates). The context answers through a proxy, as Flujo's
 * TemplateContextProxy does: its own fields first, then a step output of that name. Flujo's snake_case
 * field names (`context.initial_prompt`) also find the camelCase fields of this port (`initialPrompt`), so
 * expressions carry over unchanged.
 */
import { readProperty, type Scope, ScopeProxy } from "./expression.js";

type Ctx = Record<string, unknown>;

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function hasOwnData(object: unknown, key: string): boolean {
  if (typeof object !== "object" || object === null) return false;
  const desc = Object.getOwnPropertyDescriptor(object, key);
  return desc !== undefined && "value" in desc;
}

function stepOutputs(context: Ctx | undefined): Ctx {
  const outputs = context === undefined ? undefined : readProperty(context, "stepOutputs");
  return typeof outputs === "object" && outputs !== null && !Array.isArray(outputs) ? (outputs as Ctx) : {};
}

function contextProxy(context: Ctx | undefined): ScopeProxy {
  const outputs = stepOutputs(context);
  return new ScopeProxy(context ?? null, (key) => {
    if (context !== undefined) {
      if (hasOwnData(context, key)) return readProperty(context, key);
      const alt = camel(key);
      if (alt !== key && hasOwnData(context, alt)) return readProperty(context, alt);
    }
    return readProperty(outputs, key);
  });
}

function resumeInput(context: Ctx | undefined): unknown {
  const history = context === undefined ? undefined : readProperty(context, "hitlHistory");
  if (!Array.isArray(history) || history.length === 0) return null;
  return readProperty(history[history.length - 1], "humanResponse");
}

/** The scope of an expression: `steps` maps step names to their raw outputs. */
export function expressionScope(output: unknown, context: Ctx | undefined): Scope {
  return Object.freeze({
    previous_step: output,
    output,
    context: contextProxy(context),
    steps: stepOutputs(context),
    resume_input: resumeInput(context),
  });
}

/** The scope of a template: `steps.<name>` also answers `.output`, `.result` and `.value` (Flujo's StepValueProxy). */
export function templateScope(output: unknown, context: Ctx | undefined): Scope {
  const outputs = stepOutputs(context);
  const steps = new ScopeProxy(outputs, (name) => {
    if (!hasOwnData(outputs, name)) return null;
    const value = readProperty(outputs, name);
    return new ScopeProxy(value, (key) =>
      key === "output" || key === "result" || key === "value" ? value : readProperty(value, key),
    );
  });
  return Object.freeze({
    previous_step: output,
    output,
    this: output,
    context: contextProxy(context),
    steps,
    resume_input: resumeInput(context),
  });
}
