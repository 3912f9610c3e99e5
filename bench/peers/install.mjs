/**
 * `npm ci` in bench/peers, skipped when node_modules was installed from this very package-lock.json: a
 * clean install here takes about a minute (LangGraph, Mastra and their native SQLite builds), which
 * `npm run bench:peers -- --quick` in CI should not pay on every run. The stamp is written only after
 * a successful install, so a broken one is redone.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const stamp = fileURLToPath(new URL("./node_modules/.flujo-peers-lock.sha256", import.meta.url));
const lock = createHash("sha256")
  .update(readFileSync(new URL("./package-lock.json", import.meta.url)))
  .update(process.version)
  .digest("hex");

if (existsSync(stamp) && readFileSync(stamp, "utf8") === lock) {
  console.log("bench/peers: node_modules matches package-lock.json (npm ci skipped)");
} else {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: here, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, lock);
}
