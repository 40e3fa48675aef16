// Where the OCI spec (shaped after cgroup v1) and cgroup v2 disagree, values are converted the way
// runc (opencontainers/cgroups) and crun convert them, so a container gets the same share of the
// machine under every runtime.

/** cpu.shares range (kernel MIN_SHARES..MAX_SHARES) and cpu.weight range. */
export const CPU_SHARES_MIN = 2;
export const CPU_SHARES_MAX = 262144;
export const CPU_WEIGHT_MAX = 10000;

/**
 * cpu.shares -> cpu.weight, as runc >= 1.3 and crun >= 1.23 convert: a curve through
 * (2, 1), (1024, 100) and (262144, 10000), so the default 1024 shares become the default weight 100.
 * 0 means unset and stays 0.
 */
export function cpuSharesToCpuWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= CPU_SHARES_MIN) return 1;
  if (shares >= CPU_SHARES_MAX) return CPU_WEIGHT_MAX;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/**
 * The linear mapping of [2, 262144] onto [1, 10000] that runc < 1.3 and crun < 1.23 used
 * (it turns the default 1024 shares into weight 39). Kept for comparing with older runtimes.
 */
export function cpuSharesToCpuWeightLinear(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight [10, 1000] -> io.weight [1, 10000], linear; 0 means unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone.
 * Returns the memory.swap.max value (-1 = max, 0 = leave alone), or throws a message.
 */
export function memorySwapToV2(swap: number, memory: number): number {
  // Unlimited memory with swap unset means both unlimited, as on v1.
  if (memory === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (memory === 0 || memory === -1) throw new Error('a swap limit needs a memory limit');
  if (swap < memory) throw new Error(`memory+swap (${swap}) must be at least the memory limit (${memory})`);
  return swap - memory;
}

/** A v2 limit file's text for an OCI value where -1 means unlimited. */
export function v2Limit(value: number): string {
  return value === -1 ? 'max' : String(value);
}

/** The cpu.max line: "<quota|max> <period>". */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (!quota && !period) return undefined;
  const quotaText = quota !== undefined && quota > 0 ? String(quota) : 'max';
  return period ? `${quotaText} ${period}` : quotaText;
}
