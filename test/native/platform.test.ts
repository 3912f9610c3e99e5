import { describe, expect, it } from "vitest";
import { platformTriple as forScripts } from "../../scripts/platform.mjs";
import { platformTriple } from "../../src/native/platform.js";

describe("platformTriple", () => {
  it("names this machine as napi-rs does", () => {
    const triple = platformTriple();
    if (process.platform === "linux" && process.arch === "x64")
      expect(triple).toMatch(/^linux-x64-(gnu|musl)$/);
    if (triple !== undefined) expect(triple.startsWith(`${process.platform}-${process.arch}`)).toBe(true);
  });

  it("matches napi-rs names for the published targets", () => {
    expect(platformTriple("darwin", "arm64")).toBe("darwin-arm64");
    expect(platformTriple("darwin", "x64")).toBe("darwin-x64");
    expect(platformTriple("win32", "x64")).toBe("win32-x64-msvc");
    expect(platformTriple("linux", "arm64")).toMatch(/^linux-arm64-(gnu|musl)$/);
    expect(platformTriple("linux", "arm")).toMatch(/^linux-arm-(gnu|musl)eabihf$/);
    expect(platformTriple("aix", "ppc64")).toBeUndefined();
  });

  it("agrees with the copy the build and test scripts use", () => {
    const cases: [NodeJS.Platform, NodeJS.Architecture][] = [
      [process.platform, process.arch],
      ["linux", "x64"],
      ["linux", "arm"],
      ["linux", "s390x"],
      ["darwin", "arm64"],
      ["win32", "ia32"],
      ["android", "arm"],
      ["freebsd", "x64"],
      ["sunos", "x64"],
    ];
    for (const [platform, arch] of cases)
      expect(forScripts(platform, arch)).toBe(platformTriple(platform, arch));
  });
});
