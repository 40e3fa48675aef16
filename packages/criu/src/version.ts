import { CriuOptionError } from './errors.js';

export interface VersionNumber {
  major: number;
  minor: number;
  sublevel: number;
}

/** CRIU's version as its RPC reports it. */
export interface CriuVersion extends VersionNumber {
  /** Set on development builds. */
  extra?: number;
  gitid?: string;
  name?: string;
  /** `4.1.1` */
  text: string;
}

export function compareVersions(a: VersionNumber, b: VersionNumber): number {
  return a.major - b.major || a.minor - b.minor || a.sublevel - b.sublevel;
}

export function formatVersion(v: VersionNumber): string {
  return `${v.major}.${v.minor}${v.sublevel ? `.${v.sublevel}` : ''}`;
}

/** `3.19` or `4.1.1` -> numbers; throws CriuOptionError naming `option` otherwise. */
export function parseVersion(option: string, text: string): VersionNumber {
  const match = typeof text === 'string' ? /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text) : null;
  if (!match)
    throw new CriuOptionError(option, `expected a version like 4.1 or 4.1.1, got ${JSON.stringify(text)}`);
  return { major: Number(match[1]), minor: Number(match[2]), sublevel: Number(match[3] ?? 0) };
}
