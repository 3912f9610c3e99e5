// The napi-rs platform name of this machine (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ...),
// as in `flujo.<platform>.node` and the `flujo-<platform>` package. Used by the build and test scripts;
// src/native/platform.ts is the same function for the library (test/native/platform.test.ts checks
// that the two agree).
import { readFileSync } from "node:fs";

function isMusl() {
  try {
    return readFileSync("/usr/bin/ldd", "utf8").includes("musl");
  } catch {
    const report = process.report?.getReport?.();
    return !(report && typeof report === "object" && report.header?.glibcVersionRuntime);
  }
}

/** @returns {string | undefined} undefined when napi-rs has no name for this platform. */
export function platformTriple(platform = process.platform, arch = process.arch) {
  switch (platform) {
    case "win32":
      return ["x64", "ia32", "arm64"].includes(arch) ? `win32-${arch}-msvc` : undefined;
    case "darwin":
      return ["x64", "arm64"].includes(arch) ? `darwin-${arch}` : undefined;
    case "freebsd":
      return ["x64", "arm64"].includes(arch) ? `freebsd-${arch}` : undefined;
    case "android":
      if (arch === "arm64") return "android-arm64";
      return arch === "arm" ? "android-arm-eabi" : undefined;
    case "linux": {
      const libc = isMusl() ? "musl" : "gnu";
      if (arch === "arm") return `linux-arm-${libc}eabihf`;
      if (["x64", "arm64", "riscv64", "loong64"].includes(arch)) return `linux-${arch}-${libc}`;
      return ["ppc64", "s390x"].includes(arch) ? `linux-${arch}-gnu` : undefined;
    }
    default:
      return undefined;
  }
}
