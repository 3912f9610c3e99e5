// Stubs for the human-in-the-loop example: a draft to approve, and a publisher that reads the answer.

export function draftPost(topic) {
  return { output: `Draft post about ${topic}`, costUsd: 0.003, tokenCounts: 200 };
}

export function publish(answer, { context }) {
  const draft = context.stepOutputs.draft;
  return String(answer).trim().toLowerCase() === "yes" ? `published: ${draft}` : `kept as draft: ${draft}`;
}
