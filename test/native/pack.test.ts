/**
 * Distribution as users get it: the root package (JS only) and the linux-x64-gnu platform package (the
 * `.node`, made with `napi create-npm-dirs` as at publish time) packed with `npm pack` and installed into
 * a new project with cargo off the PATH. With the platform package the addon loads; installed with
 * `--omit=optional` the JS backend runs the same pipeline.
 *
 * Native lane only: it needs the addon built, and it installs the package twice (better-sqlite3 compiles
 * from source each time), which once is enough for.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { backend } from "../../src/index.js";
import { platformTriple } from "../../src/native/platform.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const triple = platformTriple();
const dir = mkdtempSync(join(tmpdir(), "flujo-pack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment of a user's machine without Rust: no cargo on PATH, no backend chosen. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FLUJO_BACKEND;
  delete env.FLUJO_REQUIRE_NATIVE;
  delete env.CI;
  env.PATH = (env.PATH ?? "")
    .split(delimiter)
    .filter((p) => p !== "" && !existsSync(join(p, "cargo")))
    .join(delimiter);
  return env;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 240_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

function pack(cwd: string): string {
  const out = run("npm", ["pack", "--pack-destination", dir, "--json"], cwd);
  const [{ filename }] = JSON.parse(out) as Array<{ filename: string }>;
  return join(dir, filename);
}

/** A script a user would write: which backend is live, and a two-step pipeline's output. */
const CHECK = `
import { backend, Flujo, pipeline, Step } from "flujo";
const inc = (name) => Step.fromCallable(async (x) => x + 1, { name });
const result = await new Flujo(pipeline(inc("a"), inc("b"))).run(40);
console.log(JSON.stringify({ backend, output: result.output, status: result.status }));
`;

describe.runIf(backend === "native" && triple === "linux-x64-gnu")(
  "packaging: root and platform packages",
  () => {
    it("installs with cargo off the PATH: native with the platform package, js with --omit=optional", () => {
      // The packages as they are published: dist/ built, the platform dir generated with its .node.
      run(
        process.execPath,
        [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
        ROOT,
      );
      const rootTgz = pack(ROOT);
      // napi keeps the generated dirs inside the project: target/ is ignored by git and wiped here.
      const npmDir = join(ROOT, "target", "pack-test-npm");
      rmSync(npmDir, { recursive: true, force: true });
      run(
        process.execPath,
        [join(ROOT, "node_modules/@napi-rs/cli/dist/cli.js"), "create-npm-dirs", "--npm-dir", npmDir],
        ROOT,
      );
      const platformDir = join(npmDir, triple!);
      copyFileSync(join(ROOT, `flujo.${triple}.node`), join(platformDir, `flujo.${triple}.node`));
      const platformTgz = pack(platformDir);
      rmSync(npmDir, { recursive: true, force: true });
      expect(readdirSync(dir).filter((f) => f.endsWith(".tgz"))).toHaveLength(2);

      const project = join(dir, "project");
      mkdirSync(project);
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({
          name: "a-user-project",
          private: true,
          type: "module",
          dependencies: { flujo: `file:${rootTgz}` },
          optionalDependencies: { [`flujo-${triple}`]: `file:${platformTgz}` },
        }),
      );
      writeFileSync(join(project, "check.mjs"), CHECK);
      const env = userEnv();
      const install = (extra: string[]) =>
        run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...extra], project, env);

      const installed = install([]);
      expect(installed).not.toContain("building the native addon");
      expect(JSON.parse(run(process.execPath, ["check.mjs"], project, env))).toEqual({
        backend: "native",
        output: 42,
        status: "completed",
      });

      rmSync(join(project, "node_modules"), { recursive: true, force: true });
      install(["--omit=optional"]);
      expect(existsSync(join(project, "node_modules", `flujo-${triple}`))).toBe(false);
      expect(JSON.parse(run(process.execPath, ["check.mjs"], project, env))).toEqual({
        backend: "js",
        output: 42,
        status: "completed",
      });
    }, 600_000);
  },
);
