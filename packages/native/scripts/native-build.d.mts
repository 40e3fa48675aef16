// Types of native-build.mjs for the tests that check the prebuilds.
export const packageDir: string;
export const ADDON_FILE: string;
export const INIT_FILE: string;
export const PREBUILD_TARGETS: { x64: string; arm64: string };
export function prebuildDir(arch: string): string;
export function sourcesDigest(): string;
export function seccompLibrary(cc: string): string;
export function nodeGypRebuild(
  dir: string,
  args: string[],
  gypVariables: string[],
  env?: NodeJS.ProcessEnv,
): number;
export function buildFromSource(): number;
