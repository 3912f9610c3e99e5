import { defineConfig } from "vitest/config";

/**
 * One suite, two lanes: every test runs once against the pure-TS backend and once against the napi-rs
 * addon. FLUJO_BACKEND=native makes the loader throw when the addon is missing, so the native lane cannot
 * silently test the fallback (test/backend.guard.test.ts checks which backend is live).
 * `npm test` (scripts/test.mjs) runs the lanes one after the other and sums their results.
 */
const include = ["test/**/*.test.ts"];

export default defineConfig({
  test: {
    // Builds dist/ when it is older than src/: test/cli spawns the built `flujo` binary.
    globalSetup: ["test/cli/global-setup.ts"],
    projects: [
      { extends: true, test: { name: "js", include, env: { FLUJO_BACKEND: "js" } } },
      { extends: true, test: { name: "native", include, env: { FLUJO_BACKEND: "native" } } },
    ],
  },
});
