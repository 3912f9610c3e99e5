// A refine loop (Flujo's refine_until): a generator drafts a headline, a critic judges it, and its
// feedback feeds the next draft until the critic is satisfied (or maxRefinements runs out).
// Run: npx flujo run examples/refine.ts -i "flujo ships a CLI"
import { type RefinementCheck, type RefinementInput, Step } from "flujo";

const generator = Step.fromCallable(
  async ({ originalInput, feedback }: RefinementInput<string>) => {
    const base = originalInput.replace(/^./, (c) => c.toUpperCase());
    // A deterministic "model" that follows the critic: longer when told so, then with an exclamation mark.
    let text = base;
    if (feedback === "too short") text = `${base}: typed pipelines for Node.js`;
    if (feedback === "add an exclamation mark") text = `${base}: typed pipelines for Node.js!`;
    return { output: text, costUsd: 0.001, tokenCounts: 40 };
  },
  { name: "write_headline" },
);

const critic = Step.fromCallable(
  async (headline: string): Promise<RefinementCheck> => {
    if (headline.length < 25) return { isComplete: false, feedback: "too short" };
    if (!headline.endsWith("!")) return { isComplete: false, feedback: "add an exclamation mark" };
    return { isComplete: true };
  },
  { name: "judge_headline" },
);

export const pipeline = Step.refineUntil({ name: "headline", generator, critic, maxRefinements: 5 });
export const name = "refine_headline";
