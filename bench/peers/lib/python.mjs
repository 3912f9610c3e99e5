/**
 * The Python original: runs bench/flujo_baseline.py with FLUJO_PY, or with bench/peers/.venv's python
 * (setup-python.sh makes it), and returns its JSON; without either, Flujo's published figures.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../flujo_baseline.py", import.meta.url));
const venvPython = fileURLToPath(new URL("../.venv/bin/python", import.meta.url));

/** Flujo's published baseline (scripts/performance_validation.py@26643fe5, "12-core CPU"), ms per sample. */
export const PUBLISHED = {
  source:
    "published: performance_validation_results.json@26643fe5 (12-core CPU), profiles of 27af8409 (macOS)",
  scenarios: {
    execution: { mean: 0.06, p95: 0.105, p99: 0.328 },
    memory: { mean: 1.28 },
    concurrent: { mean: 0.7546, p95: 1.33 },
    cache: { mean: 0.1163, p95: 0.183, p99: 0.196 },
    context: { mean: 0.0521, p95: 0.06, p99: 0.067 },
  },
  perStepUs: { uncached: [65, 120], withContext: [200, 460] },
};

export function pythonCommand() {
  if (process.env.FLUJO_PY) return process.env.FLUJO_PY;
  if (existsSync(venvPython)) return venvPython;
  return undefined;
}

/** { live: true, ...figures } or { live: false, reason }. */
export function runPython(quick) {
  const python = pythonCommand();
  if (!python)
    return {
      live: false,
      reason: "no FLUJO_PY and no bench/peers/.venv (bench/peers/setup-python.sh creates it)",
    };
  const args = [script];
  if (quick) args.push("--quick");
  const r = spawnSync(python, args, {
    encoding: "utf8",
    timeout: 15 * 60_000,
    maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, PYTHONWARNINGS: "ignore" },
  });
  if (r.error) return { live: false, reason: `${python}: ${r.error.message}` };
  if (r.status !== 0) {
    const tail = (r.stderr || r.stdout || "").trim().split("\n").slice(-3).join(" / ");
    return { live: false, reason: `${python} exited ${r.status ?? r.signal}: ${tail}` };
  }
  const line = r.stdout.trim().split("\n").at(-1);
  try {
    const command = python === venvPython ? "bench/peers/.venv/bin/python" : python;
    return { live: true, command, ...JSON.parse(line) };
  } catch {
    return { live: false, reason: `unreadable output of ${python}: ${line?.slice(0, 200)}` };
  }
}
