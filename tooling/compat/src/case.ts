import type { Observation, Session } from './session.js';

/** A value current runc gives where Debian's runc 1.1.5 gives another, and where that is said. */
export interface CurrentRunc {
  value: string;
  /** The change in runc (version, changelog entry or pull request) that made it so. */
  why: string;
}

/**
 * One behaviour, shown by running the same bundle and command lines under runc and corral.
 * `run` is called once per runtime with a fresh session; what it observes is compared.
 */
export interface CompatCase {
  /** Unique, and the key of the pending list and of the README's table. */
  name: string;
  /** The issue that names the behaviour. */
  issue: 19 | 20;
  run(session: Session): Promise<void>;
  /**
   * Observations where current runc (1.4/1.5) answers otherwise than Debian's 1.1.5 on purpose:
   * the case follows current runc, and 1.1.5's value is replaced by this one.
   */
  currentRunc?: Record<string, CurrentRunc>;
  /**
   * Observations where corral differs from runc on purpose, each listed in the README with its
   * reason: corral must show `value` there (or, without one, the label is not compared).
   */
  deliberate?: Record<string, Deliberate>;
  /** A reason this host cannot run the case (undefined when it can). */
  unsupported?: () => string | undefined;
}

/** A difference kept on purpose: what corral shows instead of runc's value, and why. */
export interface Deliberate {
  value?: string;
  why: string;
}

export interface Difference {
  label: string;
  runc: string | undefined;
  corral: string | undefined;
}

/** Every label whose value differs between the two lists, in runc's order, then corral's extras. */
export function differences(runc: readonly Observation[], corral: readonly Observation[]): Difference[] {
  const left = new Map(runc.map(({ label, value }) => [label, value]));
  const right = new Map(corral.map(({ label, value }) => [label, value]));
  const found: Difference[] = [];
  for (const [label, value] of left) {
    if (right.get(label) !== value) found.push({ label, runc: value, corral: right.get(label) });
  }
  for (const [label, value] of right) {
    if (!left.has(label)) found.push({ label, runc: undefined, corral: value });
  }
  return found;
}

/** What runc is expected to show: 1.1.5's observations with current runc's values put in. */
export function expectedObservations(
  observed: readonly Observation[],
  currentRunc: CompatCase['currentRunc'] = {},
): Observation[] {
  const expected = observed.map(({ label, value }) => ({
    label,
    value: currentRunc[label]?.value ?? value,
  }));
  for (const [label, { value }] of Object.entries(currentRunc)) {
    if (!expected.some((o) => o.label === label)) expected.push({ label, value });
  }
  return expected;
}

/**
 * What corral is held to where it differs on purpose: runc's observation replaced by the value
 * corral keeps instead (added where runc never showed it, as when runc fails before), or
 * dropped (from either list) when the case gives none.
 */
export function withDeliberate(
  observed: readonly Observation[],
  deliberate: CompatCase['deliberate'] = {},
): Observation[] {
  const held = observed
    .filter(({ label }) => !(label in deliberate) || deliberate[label]!.value !== undefined)
    .map(({ label, value }) => ({ label, value: deliberate[label]?.value ?? value }));
  for (const [label, { value }] of Object.entries(deliberate)) {
    if (value !== undefined && !held.some((o) => o.label === label)) held.push({ label, value });
  }
  return held;
}

/** A difference list as the lines a failing case prints. */
export function describeDifferences(list: readonly Difference[]): string {
  const show = (value: string | undefined) =>
    value === undefined ? '(not observed)' : JSON.stringify(value);
  return list
    .map((d) => `  ${d.label}\n    runc:   ${show(d.runc)}\n    corral: ${show(d.corral)}`)
    .join('\n');
}
