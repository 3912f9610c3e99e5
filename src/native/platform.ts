import { readFileSync } from "node:fs";

/**
 * The napi-rs platform name of this machine (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ...), as
 * in `flujo.<platform>.node` and the `flujo-<platform>` package, or undefined where napi-rs has none.
 * Mirrors the loader napi-rs generates; scripts/platform.mjs is the same function for the scripts.
 */
export function platformTriple(
  platform: NodeJS.Platform = process.platform,
  arch: NodeJS.Architecture = process.arch,
): string | undefined {
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

function isMusl(): boolean {
  try {
    // Cheapest signal, and the one napi-rs checks first.
    return readFileSync("/usr/bin/ldd", "utf8").includes("musl");
  } catch {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return !report?.header?.glibcVersionRuntime;
  }
}
