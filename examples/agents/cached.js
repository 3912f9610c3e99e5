// An expensive "embedding" call worth caching: the cache step keeps its result in .flujo/state.db, so a
// second run with the same input is a cache hit: the model is not called again (the hit reports the
// cost the result had when it was made).
export async function embed(text) {
  process.stderr.write("(embed: calling the model)\n");
  const vector = [...String(text)].slice(0, 4).map((c) => c.charCodeAt(0) / 128);
  return { output: { dims: vector.length, vector }, costUsd: 0.01, tokenCounts: 500 };
}

export function label(embedding) {
  return embedding.dims >= 4 ? "long text" : "short text";
}
