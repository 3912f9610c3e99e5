// A cost budget: three paid "model" calls of $0.03 each under a $0.10 limit complete; with a lower limit
// (npx flujo run examples/budget.ts --max-cost 0.05) the run stops at the call that crosses it, with
// Flujo's message "Cost limit of $0.05 exceeded", and exit code 1.
// Run: npx flujo run examples/budget.ts -i "quarterly report"
import { pipeline as build, Step, type UsageLimits } from "flujo";

const paid = (name: string) =>
  Step.fromCallable(
    async (text: string) => ({ output: `${text} > ${name}`, costUsd: 0.03, tokenCounts: 300 }),
    {
      name,
    },
  );

export const pipeline = build(paid("outline"), paid("write"), paid("review"));
export const usageLimits: UsageLimits = { totalCostUsdLimit: 0.1, totalTokensLimit: 5000 };
export const name = "budgeted_report";
