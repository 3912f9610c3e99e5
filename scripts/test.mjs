// `npm test`: the vitest suite once per backend lane (vitest.config.ts), then one summary line
// `N passed, N failed` over both lanes. Extra arguments go to vitest (e.g. `npm test -- test/native`).
//
// The native lane needs ./flujo.<platform>.node. Without it the lane is skipped with a note, except
// under CI=true or FLUJO_REQUIRE_NATIVE=1, where it runs anyway and fails: CI must test the addon.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { platformTriple } from "./platform.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const required = ["true", "1"].includes(process.env.CI ?? "") || process.env.FLUJO_REQUIRE_NATIVE === "1";
const vitestPkg = createRequire(import.meta.url).resolve("vitest/package.json");
const vitest = join(vitestPkg, "..", JSON.parse(readFileSync(vitestPkg, "utf8")).bin.vitest);
const extraArgs = process.argv.slice(2);

const triple = platformTriple();
const addonBuilt = triple !== undefined && existsSync(join(root, `flujo.${triple}.node`));
const lanes = ["js"];
if (addonBuilt || required) lanes.push("native");
else console.log("native lane skipped: addon not built (cargo missing?)");

const scratch = mkdtempSync(join(tmpdir(), "flujo-test-"));
let passed = 0;
let failed = 0;
let anyLaneFailed = false;
try {
  for (const lane of lanes) {
    const report = join(scratch, `${lane}.json`);
    console.log(`\n=== ${lane} lane (FLUJO_BACKEND=${lane}) ===`);
    const run = spawnSync(
      process.execPath,
      [
        vitest,
        "run",
        "--project",
        lane,
        "--reporter=default",
        "--reporter=json",
        `--outputFile.json=${report}`,
        ...extraArgs,
      ],
      { cwd: root, stdio: "inherit" },
    );
    const counts = readCounts(report);
    const laneFailed = run.status !== 0 || counts.failed > 0;
    passed += counts.passed;
    // A lane can fail without a failed test (a test file that cannot even be imported, a crash):
    // count it, so the summary never says 0 failed for a red run.
    failed += laneFailed ? Math.max(counts.failed, 1) : counts.failed;
    anyLaneFailed ||= laneFailed;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(anyLaneFailed ? 1 : 0);

function readCounts(file) {
  try {
    const json = JSON.parse(readFileSync(file, "utf8"));
    return {
      passed: json.numPassedTests ?? 0,
      failed: (json.numFailedTests ?? 0) + countSuitesFailedWithoutTests(json),
    };
  } catch {
    return { passed: 0, failed: 0 };
  }
}

/** Test files that failed before any test ran (e.g. an import threw) have no failed test of their own. */
function countSuitesFailedWithoutTests(json) {
  const files = Array.isArray(json.testResults) ? json.testResults : [];
  return files.filter(
    (file) => file.status === "failed" && !(file.assertionResults ?? []).some((t) => t.status === "failed"),
  ).length;
}
