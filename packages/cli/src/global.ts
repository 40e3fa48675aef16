import { UsageError } from './args.js';
import { type Flag, GLOBAL_FLAGS } from './flags.js';
import type { LogFormat } from './output.js';

/** Flags that come before the command, as runc's. */
export interface GlobalOptions {
  /** --root; without it core picks runc's default (/run/corral, or $XDG_RUNTIME_DIR/corral for a user). */
  root?: string;
  log?: string;
  logFormat: LogFormat;
  debug: boolean;
  systemdCgroup: boolean;
  /** runc's --rootless: true, false, or auto (rootless when not root, or in a user namespace). */
  rootless: 'auto' | boolean;
  /** runc's --criu: the criu binary for checkpoint and restore. */
  criu?: string;
  /** Where commands report warnings (set by main to the reporter). */
  warn: (message: string) => void;
  /** Where commands tell their steps under --debug (set by main to the reporter). */
  logDebug?: (message: string) => void;
}

/** Every spelling of the global flags of one type, from flags.ts. */
function spellings(type: 'string' | 'boolean'): Set<string> {
  return new Set(
    Object.entries(GLOBAL_FLAGS as Record<string, Flag>)
      .filter(([, flag]) => flag.type === type)
      .flatMap(([name, flag]) => [`--${name}`, ...(flag.short ? [`-${flag.short}`] : [])]),
  );
}

const VALUE_FLAGS = spellings('string');
const BOOLEAN_FLAGS = spellings('boolean');

/**
 * The command's name: the first argument after the global flags, read without checking them
 * (parseGlobal does that), so the executable can pick the file that runs it.
 */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) return arg;
    if (!arg.includes('=') && VALUE_FLAGS.has(arg)) i++;
  }
  return undefined;
}

/** Splits `[global flags] command [command args]`. */
export function parseGlobal(argv: string[]): {
  global: GlobalOptions;
  command?: string;
  rest: string[];
  help: boolean;
  version: boolean;
} {
  const global: GlobalOptions = {
    logFormat: 'text',
    debug: false,
    systemdCgroup: false,
    rootless: 'auto',
    warn: (message) => process.stderr.write(`corral: warning: ${message}\n`),
  };
  let help = false;
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) break;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: ${name}`);
      if (name === '--root') global.root = value;
      else if (name === '--log') global.log = value;
      else if (name === '--criu') global.criu = value;
      else if (name === '--log-format') {
        if (value !== 'text' && value !== 'json')
          throw new UsageError(`--log-format must be text or json, got ${JSON.stringify(value)}`);
        global.logFormat = value;
      } else if (name === '--rootless') {
        if (!['true', 'false', 'auto'].includes(value))
          throw new UsageError(`--rootless must be true, false or auto, got ${JSON.stringify(value)}`);
        global.rootless = value === 'auto' ? 'auto' : value === 'true';
      }
    } else if (BOOLEAN_FLAGS.has(name)) {
      if (name === '--debug') global.debug = true;
      else if (name === '--systemd-cgroup') global.systemdCgroup = true;
      else if (name === '--help' || name === '-h') help = true;
      else version = true;
    } else {
      throw new UsageError(`unknown global flag ${name}`);
    }
  }
  return { global, command: argv[i], rest: argv.slice(i + 1), help, version };
}
