import { COMMANDS, type CommandName, type Flag, GLOBAL_FLAGS } from './flags.js';

/** What corral is, in `corral --help` and at the head of its manual page. */
export const DESCRIPTION =
  'corral runs containers from OCI bundles (a config.json and a root filesystem) as runc does: ' +
  'the same commands, flags, state and exit statuses, so podman, containerd and Kubernetes ' +
  "through them can use it in runc's place. TypeScript validates the configuration and compiles " +
  'it into a plan; corral-init, a small static helper, carries the plan out between clone and execve.';

const INDENT = '   ';
const WIDTH = 80;

/** Text wrapped to the terminal width runc's help assumes, each line indented. */
export function wrap(text: string, indent = INDENT): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent}${l}\n`).join('');
}

/** A flag as runc's help names it, with its value's name: `--bundle DIR, -b DIR`, `--detach, -d`. */
export function flagSynopsis(name: string, flag: Flag): string {
  const value = flag.type === 'string' ? ` ${flag.value ?? 'value'}` : '';
  return [`--${name}${value}`, ...(flag.short ? [`-${flag.short}${value}`] : [])].join(', ');
}

/** A flag's line of help: what it does, its default, and where corral differs from runc. */
export function flagDescription(flag: Flag): string {
  const defaultText = flag.default === undefined ? '' : ` (default: ${JSON.stringify(flag.default)})`;
  const unlike = flag.unlikeRunc === undefined ? '' : ` [unlike runc: ${flag.unlikeRunc}]`;
  return `${flag.help}${defaultText}${unlike}`;
}

/** Two columns, the first padded to its widest entry, as runc aligns them. */
function columns(rows: Array<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${INDENT}${left.padEnd(width)}  ${right}\n`).join('');
}

function flagColumns(flags: Readonly<Record<string, Flag>>): string {
  return columns(
    Object.entries(flags).map(([name, flag]) => [flagSynopsis(name, flag), flagDescription(flag)]),
  );
}

/** The USAGE line of one command. */
export function commandUsage(name: CommandName): string {
  const command = COMMANDS[name];
  const hasFlags = Object.keys(command.flags).length > 0;
  const args = command.arguments || (hasFlags ? '' : '[arguments...]');
  return [`corral ${name}`, hasFlags ? '[command options]' : '', args].filter(Boolean).join(' ');
}

/** `corral help COMMAND` and `corral COMMAND --help`, laid out as runc's. */
export function commandHelp(name: CommandName): string {
  const command = COMMANDS[name];
  const flags = Object.keys(command.flags).length ? `\nOPTIONS:\n${flagColumns(command.flags)}` : '';
  return (
    `NAME:\n${INDENT}corral ${name} - ${command.summary}\n\n` +
    `USAGE:\n${INDENT}${commandUsage(name)}\n\n` +
    `DESCRIPTION:\n${wrap(command.description)}${flags}`
  );
}

/** `corral --help`, laid out as runc's: NAME, description, USAGE, VERSION, COMMANDS, GLOBAL OPTIONS. */
export function appHelp(version: string): string {
  const [first, ...rest] = version.trimEnd().split('\n');
  const commands = columns([
    ...Object.entries(COMMANDS).map(([name, command]) => [name, command.summary] as const),
    ['help, h', 'list the commands, or show one command and its flags'],
  ]);
  return (
    `NAME:\n${INDENT}corral - an OCI container runtime, compatible with runc\n\n` +
    `${wrap(DESCRIPTION, '')}\n` +
    `USAGE:\n${INDENT}corral [global options] command [command options] [arguments...]\n\n` +
    `VERSION:\n${INDENT}${first}\n${rest.map((line) => `${line}\n`).join('')}\n` +
    `COMMANDS:\n${commands}\n` +
    `GLOBAL OPTIONS:\n${flagColumns(GLOBAL_FLAGS)}`
  );
}
