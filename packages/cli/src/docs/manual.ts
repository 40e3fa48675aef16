import { COMMANDS, type CommandName, type Flag, GLOBAL_FLAGS } from '../flags.js';
import { commandUsage, DESCRIPTION } from '../help.js';

/**
 * Text as roff reads it: backslashes and hyphens escaped (so flags render as the ASCII minus a
 * shell takes, not a typographic hyphen), `code` in bold, and no line starting with a control
 * character.
 */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(/^([.'])/gm, '\\&$1');
}

/** A help line as a sentence of the manual: capitalised, with its full stop. */
function sentence(text: string, end = '.'): string {
  return `${text[0]!.toUpperCase()}${text.slice(1)}${end}`;
}

function flagTerm(name: string, flag: Flag): string {
  const value = flag.type === 'string' ? ` \\fI${roff(flag.value ?? 'value')}\\fR` : '';
  const spellings = [`\\fB\\-\\-${roff(name)}\\fR${value}`];
  if (flag.short) spellings.push(`\\fB\\-${roff(flag.short)}\\fR${value}`);
  return spellings.join(', ');
}

function flagEntries(flags: Readonly<Record<string, Flag>>): string {
  return Object.entries(flags)
    .map(([name, flag]) => {
      const lines = [`.TP`, flagTerm(name, flag), roff(sentence(flag.help))];
      if (flag.multiple) lines.push('May be given more than once.');
      if (flag.default !== undefined) lines.push(`Default: ${roff(JSON.stringify(flag.default))}.`);
      if (flag.unlikeRunc !== undefined) lines.push(`Unlike runc: ${roff(flag.unlikeRunc)}.`);
      return `${lines.join('\n')}\n`;
    })
    .join('');
}

function header(title: string, version: string): string {
  // Flags and paths read better unhyphenated and ragged right.
  return `.TH ${roff(title.toUpperCase())} 8 "" "corral ${version}" "System Administration"\n.nh\n.ad l\n`;
}

function seeAlso(pages: string[]): string {
  return `.SH SEE ALSO\n${pages.map((page, i) => `.BR ${roff(page)} (8)${i < pages.length - 1 ? ',' : ''}`).join('\n')}\n`;
}

/** corral.8: the command, its commands and global flags, its environment and files. */
export function mainManual(version: string): string {
  const commands = Object.entries(COMMANDS)
    .map(
      ([name, command]) =>
        `.TP\n.B ${roff(name)}\n${roff(sentence(command.summary, ';'))} see \\fBcorral\\-${roff(name)}\\fR(8).\n`,
    )
    .join('');
  return (
    header('corral', version) +
    '.SH NAME\ncorral \\- an OCI container runtime, compatible with runc\n' +
    '.SH SYNOPSIS\n.B corral\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIcommand options\\fR] [\\fIarguments\\fR...]\n' +
    `.SH DESCRIPTION\n${roff(DESCRIPTION)}\n` +
    `.PP\n${roff("`corral help COMMAND` and `corral COMMAND --help` print a command's flags.")}\n` +
    `.SH COMMANDS\n${commands}` +
    `.SH GLOBAL OPTIONS\n${flagEntries(GLOBAL_FLAGS)}` +
    '.SH ENVIRONMENT\n' +
    '.TP\n.B CORRAL_CRIU\nthe criu binary when \\fB\\-\\-criu\\fR is not given.\n' +
    '.TP\n.B NOTIFY_SOCKET\nan sd_notify socket: corral gives the container a socket of its own and passes its messages on, as runc does.\n' +
    ".TP\n.B LISTEN_FDS\nsocket activation: that many descriptors from 3 on are passed to the container's process, with \\fBLISTEN_PID\\fR=1.\n" +
    '.SH FILES\n.TP\n.I /run/corral/ID/state.json\nthe state of container ID (under \\fB\\-\\-root\\fR).\n' +
    '.SH EXIT STATUS\n' +
    "0 on success; 1 when a command fails or its arguments are wrong; for a foreground \\fBrun\\fR or \\fBexec\\fR, the process's own status (128 plus the signal's number when a signal ended it).\n" +
    seeAlso(Object.keys(COMMANDS).map((name) => `corral-${name}`))
  );
}

/** corral-COMMAND.8: one command, its arguments and its flags. */
export function commandManual(name: CommandName, version: string): string {
  const command = COMMANDS[name];
  const flags = Object.keys(command.flags).length ? `.SH OPTIONS\n${flagEntries(command.flags)}` : '';
  const usage = commandUsage(name).replace(`corral ${name}`, '').trim();
  return (
    header(`corral-${name}`, version) +
    `.SH NAME\ncorral\\-${roff(name)} \\- ${roff(command.summary)}\n` +
    `.SH SYNOPSIS\n.B corral ${roff(name)}\n${roff(usage)}\n` +
    `.SH DESCRIPTION\n${roff(command.description)}\n` +
    flags +
    seeAlso(['corral'])
  );
}
