#!/usr/bin/env python3
"""Live figures of the Python original (flujo 0.6.11, ExecutorCore), in the shapes of bench/engine.ts.

Run by bench/peers/run.mjs when FLUJO_PY (a python with flujo installed) is set or bench/peers/.venv
exists (bench/peers/setup-python.sh creates it); it prints one JSON object on stdout.

Scenarios, as in bench/engine.ts (flujoScenarios), each with the executor cache on and off:
  execution   ExecutorCore.execute(step, {"test": n}), a fresh input per call
  memory      50 executes with {"iteration": i, "run": n} per sample
  concurrent  asyncio.gather of 20 executes, fresh inputs
  cache       a miss then a hit on the same fresh input (two misses with the cache off)
  context     execute with a two-field context (a=1, b="two")
The step is a stub agent with 200 canned outputs, taken in turn, and max_retries=1, as in
scripts/performance_validation.py@26643fe5; flujo's own StubAgent raises once its outputs run out,
so a cycling one is used. "execution (original protocol)" repeats the original script's call (the
same input every time, so nearly every call is a cache hit): it is the figure behind the published
60.0 us. Per-step overhead: W1 of bench/peers (N sequential x+1 steps through the Flujo runner),
without and with a context model.

Figures are in milliseconds per sample: mean, median, p95, p99, min, max, iterations (samples), plus
memory (the RSS delta around the timed loop, in MB) and throughput (samples per second, 1000 / mean).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings

os.environ.setdefault("FLUJO_TEST_MODE", "1")  # no FLUJO_STATE_URI auto-wiring, no telemetry export
warnings.filterwarnings("ignore")

import flujo  # noqa: E402
from flujo import Flujo, Pipeline, Step  # noqa: E402
from flujo.application.core.executor_core import ExecutorCore  # noqa: E402
from flujo.domain.dsl.step import StepConfig  # noqa: E402
from flujo.domain.models import PipelineContext  # noqa: E402


class CyclingStubAgent:
    """Flujo's StubAgent, but its 200 outputs cycle (engine.ts: outputs[i++ % outputs.length])."""

    def __init__(self, outputs: list[str]) -> None:
        self.outputs = outputs
        self.i = 0

    async def run(self, data: object = None, **_: object) -> object:
        out = self.outputs[self.i % len(self.outputs)]
        self.i += 1
        return out


class BenchContext(PipelineContext):
    a: int = 1
    b: str = "two"


def stub_step(name: str) -> Step:
    return Step.model_validate(
        {
            "name": name,
            "agent": CyclingStubAgent([f"output {i}" for i in range(200)]),
            "config": StepConfig(max_retries=1),
        }
    )


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (what tinybench does for its percentiles)."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def rss_bytes() -> int | None:
    """Resident set size now (Linux /proc; None elsewhere, where the memory figure is then left out)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def figures(samples_s: list[float], memory: dict[str, float] | None = None) -> dict[str, object]:
    ms = sorted(s * 1000 for s in samples_s)
    mean = statistics.fmean(ms)
    return {
        "mean": mean,
        "median": quantile(ms, 0.5),
        "p95": quantile(ms, 0.95),
        "p99": quantile(ms, 0.99),
        "min": ms[0],
        "max": ms[-1],
        "iterations": len(ms),
        "memory": memory,
        "throughput": 1000 / mean,
    }


async def measure(fn, time_s: float, min_iter: int, warmup: int) -> dict[str, float | int]:
    """Warm-ups, then samples until both the time budget and the minimum count are met."""
    for _ in range(warmup):
        await fn()
    gc.collect()
    rss0 = rss_bytes()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < min_iter or time.perf_counter() - start < time_s:
        t0 = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t0)
    rss1 = rss_bytes()
    # The RSS delta around the timed loop, as Flujo's validation script took it with psutil.
    memory = {"rssDeltaMb": (rss1 - rss0) / 2**20} if rss0 is not None and rss1 is not None else None
    return figures(samples, memory)


def check(result: object, what: str) -> None:
    if not getattr(result, "success", False):
        raise RuntimeError(f"{what}: the step failed: {getattr(result, 'feedback', result)!r}")


async def scenarios(time_s: float, min_iter: int) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for cache_on in (True, False):
        core = ExecutorCore(enable_cache=cache_on)
        step = stub_step("stub")
        ctx = BenchContext()
        n = 0

        async def execution() -> None:
            nonlocal n
            n += 1
            check(await core.execute(step, {"test": n}), "execution")

        async def memory() -> None:
            nonlocal n
            n += 1
            for i in range(50):
                check(await core.execute(step, {"iteration": i, "run": n}), "memory")

        async def concurrent() -> None:
            nonlocal n
            batch = []
            for _ in range(20):
                n += 1
                batch.append(core.execute(step, {"test": n}))
            for r in await asyncio.gather(*batch):
                check(r, "concurrent")

        async def cache() -> None:
            nonlocal n
            n += 1
            data = {"test": n}
            check(await core.execute(step, data), "cache miss")
            check(await core.execute(step, data), "cache hit")

        async def context() -> None:
            nonlocal n
            n += 1
            check(await core.execute(step, {"test": n}, context=ctx), "context")

        fixed = {"test": "execution_performance"}

        async def original() -> None:
            check(await core.execute(step, fixed), "execution (original protocol)")

        suffix = "" if cache_on else " (cache off)"
        for name, fn in (
            ("execution", execution),
            ("memory", memory),
            ("concurrent", concurrent),
            ("cache", cache),
            ("context", context),
            ("execution (original protocol)", original),
        ):
            out[name + suffix] = await measure(fn, time_s, min_iter, 10)
    return out


async def w1(time_s: float, min_iter: int, quick: bool) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    # N=1000 takes 1.7 s a run here (4.3 s with a context): left out of --quick, fewer samples otherwise.
    sizes = (10, 100) if quick else (10, 100, 1000)
    for with_context in (False, True):
        for n_steps in sizes:

            async def inc(x: int) -> int:
                return x + 1

            steps = [Step.from_callable(inc, name=f"s{i}") for i in range(n_steps)]
            runner = Flujo(
                Pipeline(steps=steps),
                context_model=BenchContext if with_context else None,
                persist_state=False,
                pipeline_name=f"w1-{n_steps}",
            )
            unique = 0

            async def run_once() -> None:
                nonlocal unique
                unique += 1
                start = unique * 1000
                r = await runner.run_result_async(start)
                if not r.success or r.step_history[-1].output != start + n_steps:
                    raise RuntimeError(f"W1 N={n_steps}: wrong result {r.step_history[-1].output!r}")
                if len(r.step_history) != n_steps:
                    raise RuntimeError(f"W1 N={n_steps}: {len(r.step_history)} steps ran")

            key = f"w1 N={n_steps}" + (" (context)" if with_context else "")
            fig = await measure(run_once, time_s, min_iter if n_steps < 1000 else 5, 3 if n_steps < 1000 else 1)
            fig["us_per_step"] = fig["mean"] * 1000 / n_steps
            out[key] = fig
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--time", type=float, default=1.0, help="seconds per scenario")
    args = ap.parse_args()
    time_s = 0.05 if args.quick else args.time
    min_iter = 3 if args.quick else 20
    t0 = time.perf_counter()
    result = {
        "flujo": getattr(flujo, "__version__", None) or _dist_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "unit": "ms",
        "scenarios": await scenarios(time_s, min_iter),
        "w1": await w1(time_s, min_iter, args.quick),
    }
    result["seconds"] = time.perf_counter() - t0
    print(json.dumps(result))


def _dist_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("flujo")
    except Exception:
        return None


if __name__ == "__main__":
    asyncio.run(main())
