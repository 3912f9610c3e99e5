// Builds the napi-rs addon from source into ./flujo.<platform>.node (the package's `install` script, and
// `npm run build:native` with --force). Without cargo, or when the build fails, the library still works
// on the pure-JS backend, so this only fails the install when CI=true or FLUJO_REQUIRE_NATIVE=1.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { platformTriple } from "./platform.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const manifest = join(root, "crates", "flujo-node", "Cargo.toml");
const force = process.argv.includes("--force");
const required = ["true", "1"].includes(process.env.CI ?? "") || process.env.FLUJO_REQUIRE_NATIVE === "1";
const JS_FALLBACK = "the pure-JS backend will be used (FLUJO_BACKEND=js)";

// Installed from the registry: no Rust sources, the addon comes from a platform package (or not at all).
if (!existsSync(manifest)) process.exit(0);

// Not fatal even under CI: there the native test lane then fails, with the loader's own message.
if (spawnSync("cargo", ["--version"], { stdio: "ignore" }).error) {
  console.log(`flujo: cargo not found; ${JS_FALLBACK}`);
  process.exit(0);
}

const triple = platformTriple();
const output = triple && join(root, `flujo.${triple}.node`);
if (!force && output && existsSync(output) && !newerThan(output, ["Cargo.toml", "Cargo.lock", "crates"])) {
  console.log(`flujo: ${output} is up to date (npm run build:native rebuilds it)`);
  process.exit(0);
}

try {
  build();
  if (!output || !existsSync(output)) {
    throw new Error(`the build did not produce flujo.${triple ?? "<unknown platform>"}.node`);
  }
  console.log(`flujo: built ${output}`);
} catch (error) {
  console.error(`flujo: native build failed: ${error instanceof Error ? error.message : String(error)}`);
  if (required) process.exit(1);
  console.log(`flujo: ${JS_FALLBACK}`);
}

function build() {
  const require = createRequire(import.meta.url);
  let cli;
  try {
    const pkgPath = require.resolve("@napi-rs/cli/package.json");
    const bin = JSON.parse(readFileSync(pkgPath, "utf8")).bin;
    cli = join(pkgPath, "..", typeof bin === "string" ? bin : bin.napi);
  } catch {
    throw new Error("@napi-rs/cli is not installed (it is a devDependency)");
  }
  const args = [
    cli,
    "build",
    "--platform",
    "--release",
    "--manifest-path",
    manifest,
    "--output-dir",
    root,
    "--no-js",
    // napi always writes type definitions; keep them out of the package root (target/ is ignored).
    "--dts",
    join("target", "flujo-node.d.ts"),
  ];
  console.log(
    `flujo: building the native addon (napi build --platform --release)${force ? " [--force]" : ""}`,
  );
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`napi build exited with ${result.status ?? result.signal}`);
}

/** True when any file under `paths` (relative to the root) changed after `file` was written. */
function newerThan(file, paths) {
  const builtAt = statSync(file).mtimeMs;
  const stack = paths.map((p) => join(root, p));
  while (stack.length > 0) {
    const path = stack.pop();
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) stack.push(join(path, entry));
    } else if (stat.mtimeMs > builtAt) {
      return true;
    }
  }
  return false;
}
