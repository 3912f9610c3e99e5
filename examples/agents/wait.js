// A step that waits for a long time unless the run is cancelled: used to show (and test) that Ctrl-C
// leaves a run resumable. The wait is cancelled through the step's AbortSignal.
export function prepare(text) {
  return `prepared ${text}`;
}

export function slow(input, { signal }) {
  if (process.env.FLUJO_EXAMPLE_FAST === "1") return `${input}, then done`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(`${input}, then done`), 600_000);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Error("cancelled"));
    });
  });
}
