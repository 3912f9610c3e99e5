// Deterministic research "agents" for the parallel example: each branch writes its findings into the
// context (updates_context: true) and the parallel step merges the branches' contexts back.

export function searchWeb(topic) {
  return { webNotes: [`web: ${topic} adoption doubled`], sources: 2 };
}

export function searchPapers(topic) {
  return { paperNotes: [`papers: ${topic} cuts latency 30%`], sources: 3 };
}

export function summarize(_input, { context }) {
  const notes = [...context.webNotes, ...context.paperNotes];
  return { output: `${notes.length} findings: ${notes.join("; ")}`, costUsd: 0.001, tokenCounts: 80 };
}
