import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { backend, hot, jsBackend, loadBackend, parseBackendMode } from "../../src/native/index.js";
import { platformTriple } from "../../src/native/platform.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

describe("FLUJO_BACKEND", () => {
  it("parses the three modes, defaulting to auto", () => {
    expect(parseBackendMode(undefined)).toBe("auto");
    expect(parseBackendMode("")).toBe("auto");
    expect(parseBackendMode("auto")).toBe("auto");
    expect(parseBackendMode("native")).toBe("native");
    expect(parseBackendMode("js")).toBe("js");
  });

  it("rejects anything else, naming the variable", () => {
    expect(() => parseBackendMode("rust")).toThrow(/FLUJO_BACKEND/);
    expect(() => parseBackendMode("JS")).toThrow(/"JS"/);
  });

  it("makes importing the loader fail on a bad value", async () => {
    vi.stubEnv("FLUJO_BACKEND", "wasm");
    vi.resetModules();
    try {
      await expect(import("../../src/native/loader.js")).rejects.toThrow(/FLUJO_BACKEND/);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });

  it("js mode binds the pure-TS backend", () => {
    const loaded = loadBackend("js");
    expect(loaded).toEqual({ backend: "js", hot: jsBackend, nativeLoadError: undefined });
  });

  it.runIf(backend === "native")("native and auto modes bind the addon when it is built", () => {
    for (const mode of ["native", "auto"] as const) {
      const loaded = loadBackend(mode);
      expect(loaded.backend).toBe("native");
      expect(loaded.hot.kind).toBe("native");
      expect(loaded.nativeLoadError).toBeUndefined();
      expect(loaded.hot.hash128).toBe(hot.hash128);
    }
  });
});

// The loader finds the addon relative to its own file, so these run a copy of src/native in a scratch
// package (no addon, or a fake platform package) in a child process.
describe("loading without a usable addon", () => {
  let scratch: string;
  const triple = platformTriple();

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "flujo-loader-"));
    cpSync(join(repoRoot, "src", "native"), join(scratch, "src", "native"), { recursive: true });
    writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", type: "module" }));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function probe(mode: string): { status: number | null; out: string } {
    const loader = pathToFileURL(join(scratch, "src", "native", "loader.ts")).href;
    const script = `
      const m = await import(${JSON.stringify(loader)});
      console.log(JSON.stringify({ backend: m.backend, error: m.nativeLoadError?.message ?? null }));`;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: repoRoot,
      env: { ...process.env, FLUJO_BACKEND: mode },
      encoding: "utf8",
    });
    return { status: run.status, out: `${run.stdout}${run.stderr}` };
  }

  it("auto falls back to js and says why", () => {
    const { status, out } = probe("auto");
    expect(status).toBe(0);
    const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
    expect(result.backend).toBe("js");
    expect(result.error).toMatch(/cannot load the native addon/);
  });

  it("native throws instead of falling back", () => {
    const { status, out } = probe("native");
    expect(status).not.toBe(0);
    expect(out).toMatch(/cannot load the native addon/);
  });

  it("js never looks for the addon", () => {
    const { status, out } = probe("js");
    expect(status).toBe(0);
    expect(JSON.parse(out.trim())).toEqual({ backend: "js", error: null });
  });

  it.runIf(triple !== undefined)("refuses an addon with another ABI version", () => {
    const pkg = join(scratch, "node_modules", `flujo-${triple}`);
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "index.js"),
      `const f = () => { throw new Error("unused") };
       module.exports = { abiVersion: () => 2, hash128: f, canonicalizeJson: f, hashJson: f };`,
    );
    try {
      const native = probe("native");
      expect(native.status).not.toBe(0);
      expect(native.out).toMatch(/ABI version 2 but this flujo needs 1/);
      const auto = probe("auto");
      expect(JSON.parse(auto.out.trim()).backend).toBe("js");
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
});
