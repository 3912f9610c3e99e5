// A support-ticket pipeline: classify, draft with a fallback, check the draft, stay within budget.
// Run it: npx tsx examples/quickstart.ts
import { z } from "zod";
import { Flujo, pipeline, Step } from "../src/index.js";

const Ticket = z.looseObject({
  priority: z.enum(["low", "high"]).default("low"),
  drafts: z.number().default(0),
});

const classify = Step.fromCallable(
  async (text: string, { context }) => {
    context.priority = /urgent|down/i.test(text) ? "high" : "low";
    return text;
  },
  { name: "classify" },
);

// An "LLM" that fails on its first call, to show retries; it reports its usage like a real client would.
let calls = 0;
const draft = new Step({
  name: "draft",
  agent: {
    run: async (text: string, { context }) => {
      if (calls++ === 0) throw new Error("rate limited");
      context.drafts = (context.drafts as number) + 1;
      return {
        output: `Re: ${text} (priority ${String(context.priority)})`,
        costUsd: 0.002,
        tokenCounts: 120,
      };
    },
  },
  config: { maxRetries: 2, timeoutS: 30 },
  fallbackStep: Step.fromCallable(async (text: string) => `Re: ${text} (template)`, { name: "template" }),
  validators: [(out) => ({ isValid: String(out).length < 200, feedback: "draft too long" })],
});

const ship = Step.fromCallable(async (reply: string) => ({ sent: true, reply }), { name: "ship" });

export async function main(): Promise<unknown> {
  const runner = new Flujo(pipeline(classify, draft, ship), {
    contextSchema: Ticket,
    usageLimits: { totalCostUsdLimit: 0.05 },
    hooks: [
      (e) =>
        void (
          e.eventName === "post_step" &&
          console.log(`✓ ${e.stepResult.name} (${e.stepResult.attempts} attempt(s))`)
        ),
    ],
  });
  const result = await runner.run("The site is down!");
  console.log(result.status, result.output, `$${result.totalCostUsd}`, result.finalPipelineContext?.priority);
  return result.output;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
