// Deterministic local stand-ins for LLM agents (no network): each returns what a model might, with the
// cost and tokens a real call would report, so the CLI's totals and budgets have something to count.

/** Sets the ticket's priority in the context (the step has updates_context: true). */
export function classify(text) {
  const urgent = /urgent|down|outage/i.test(String(text));
  return { priority: urgent ? "high" : "low", ticket: String(text) };
}

// Fails its first call in a process, like a model endpoint that times out once; the retry succeeds.
let draftCalls = 0;
export async function draft(prompt) {
  draftCalls++;
  if (draftCalls === 1) throw new Error("model endpoint timed out");
  return { output: `Hello, we are on it: ${prompt}`, costUsd: 0.002, tokenCounts: 120 };
}

/** A "premium" polisher that is always unavailable: its fallback step answers instead. */
export async function polish() {
  throw new Error("polisher quota exhausted");
}

/** The fallback: a template that never fails. */
export function template(text) {
  return `${text}\n-- Support team`;
}
