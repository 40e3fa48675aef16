/**
 * The process's environment as runc prepares it: each name once, where it last appears, with
 * its last value; an empty HOME dropped. `home` says HOME must come from the container's
 * /etc/passwd (the config sets an environment without a HOME of its own).
 */
export function processEnv(env: readonly string[] | undefined): { list: string[]; home: boolean } {
  if (env === undefined) return { list: [], home: false };
  const seen = new Set<string>();
  const list: string[] = [];
  let home = false;
  for (let i = env.length - 1; i >= 0; i--) {
    const entry = env[i]!;
    const name = entry.slice(0, entry.indexOf('='));
    if (seen.has(name)) continue;
    seen.add(name);
    if (name === 'HOME') {
      if (entry === 'HOME=') continue;
      home = true;
    }
    list.push(entry);
  }
  return { list: list.reverse(), home: !home };
}
