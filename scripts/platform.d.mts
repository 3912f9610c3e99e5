export function platformTriple(platform?: NodeJS.Platform, arch?: NodeJS.Architecture): string | undefined;
