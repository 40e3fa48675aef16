import { COMMANDS, type Flag, GLOBAL_FLAGS } from '../flags.js';

const HEADER = '# corral completion, generated from the flag definitions the command parses with.\n';
const HELP_SUMMARY = 'list the commands, or show one command and its flags';

type Flags = Readonly<Record<string, Flag>>;

/** Commands whose words after the container id belong to another program (exec's, ps's). */
const PASS_ON = ['exec', 'ps'];
const commandEntries = () =>
  Object.entries(COMMANDS) as Array<[string, (typeof COMMANDS)[keyof typeof COMMANDS]]>;

/** The global flags (under the command name '') and every command's, as bash looks them up. */
function flagTables(): Array<readonly [string, Flags]> {
  return [['', GLOBAL_FLAGS], ...commandEntries().map(([name, command]) => [name, command.flags] as const)];
}

/** Commands whose first argument is a container id: completion offers `corral list -q`. */
function takesContainer(name: string): boolean {
  return COMMANDS[name as keyof typeof COMMANDS].arguments.startsWith('<container-id>');
}

/** The commands whose first argument is a container id, space-separated. */
function containerCommands(): string {
  return Object.keys(COMMANDS).filter(takesContainer).join(' ');
}

function spellings(name: string, flag: Flag): string[] {
  return [`--${name}`, ...(flag.short ? [`-${flag.short}`] : [])];
}

function valueSpellings(flags: Flags): string[] {
  return Object.entries(flags)
    .filter(([, flag]) => flag.type === 'string')
    .flatMap(([name, flag]) => spellings(name, flag));
}

const shellWord = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** What bash offers for a flag's value. */
function bashValues(flag: Flag): string {
  const complete = flag.complete;
  if (complete === 'file')
    return 'compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur")';
  if (complete === 'directory')
    return 'compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur")';
  if (complete) return `mapfile -t COMPREPLY < <(compgen -W ${shellWord(complete.join(' '))} -- "$cur")`;
  return 'COMPREPLY=()';
}

/** The bash completion function: commands, each command's flags, and values where they are known. */
export function bashCompletion(): string {
  const flagCases = (pick: (flags: Flags) => string[]) =>
    flagTables()
      .map(([name, flags]) => `    ${shellWord(name)}) echo ${shellWord(pick(flags).join(' '))} ;;\n`)
      .join('');
  const valueCases = flagTables()
    .flatMap(([command, flags]) =>
      Object.entries(flags)
        .filter(([, flag]) => flag.type === 'string')
        .map(([name, flag]) => {
          const pattern = spellings(name, flag)
            .map((spelling) => shellWord(`${command} ${spelling}`))
            .join('|');
          return `    ${pattern}) ${bashValues(flag)} ;;\n`;
        }),
    )
    .join('');
  return `${HEADER}
_corral_flags() {
  case "$1" in
${flagCases((flags) => Object.entries(flags).flatMap(([name, flag]) => spellings(name, flag)))}  esac
}

_corral_value_flags() {
  case "$1" in
${flagCases(valueSpellings)}  esac
}

_corral_values() {
  case "$1 $2" in
${valueCases}    *) COMPREPLY=() ;;
  esac
}

_corral() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local command='' positionals=0 root=() i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ $word == -* ]]; then
      [[ $word == --root=* ]] && root=(--root "\${word#--root=}")
      if [[ $word != *=* && " $(_corral_value_flags "$command") " == *" $word "* ]]; then
        ((i++))
        [[ $word == --root && -z $command ]] && root=(--root "\${COMP_WORDS[i]}")
      fi
    elif [[ -z $command ]]; then
      command=$word
    else
      ((positionals++))
    fi
  done
  # What follows the container id goes to another program untouched.
  if [[ ${shellWord(` ${PASS_ON.join(' ')} `)} == *" $command "* && $positionals -gt 0 ]]; then
    COMPREPLY=()
    return
  fi
  if [[ $cur == --*=* ]]; then
    local flag=\${cur%%=*}
    cur=\${cur#*=}
    _corral_values "$command" "$flag"
    return
  fi
  if [[ $prev == -* && " $(_corral_value_flags "$command") " == *" $prev "* ]]; then
    _corral_values "$command" "$prev"
    return
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_corral_flags "$command")" -- "$cur")
  elif [[ -z $command ]]; then
    mapfile -t COMPREPLY < <(compgen -W ${shellWord(`${Object.keys(COMMANDS).join(' ')} help h`)} -- "$cur")
  elif [[ ($command == help || $command == h) && $positionals -eq 0 ]]; then
    mapfile -t COMPREPLY < <(compgen -W ${shellWord(Object.keys(COMMANDS).join(' '))} -- "$cur")
  elif [[ ${shellWord(` ${containerCommands()} `)} == *" $command "* && $positionals -eq 0 ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$("\${COMP_WORDS[0]}" "\${root[@]}" list -q 2>/dev/null)" -- "$cur")
  fi
}

complete -F _corral corral
`;
}

/** zsh's `_arguments` spec of one flag. */
function zshSpec(name: string, flag: Flag): string {
  const description = flag.help.replace(/[[\]\\]/g, '\\$&');
  // A repeatable flag may follow itself; the two spellings of any other exclude each other.
  const prefix = flag.multiple ? '*' : flag.short ? `(-${flag.short} --${name})` : '';
  let action = '';
  if (flag.type === 'string') {
    const complete = flag.complete;
    const what =
      complete === 'file'
        ? '_files'
        : complete === 'directory'
          ? '_files -/'
          : complete
            ? `(${complete.join(' ')})`
            : ' ';
    action = `:${(flag.value ?? 'value').replace(/:/g, '\\:')}:${what}`;
  }
  const forms = flag.short
    ? `{-${flag.short}${flag.type === 'string' ? '+' : ''},--${name}${flag.type === 'string' ? '=' : ''}}`
    : `--${name}${flag.type === 'string' ? '=' : ''}`;
  // The braces expand to one spec per spelling, so they stay outside the quotes.
  return `${shellWord(prefix)}${forms}${shellWord(`[${description}]${action}`)}`;
}

function zshSpecs(flags: Flags, indent: string): string {
  return Object.entries(flags)
    .map(([name, flag]) => `${indent}${zshSpec(name, flag)} \\\n`)
    .join('');
}

/** The zsh completion function (`_corral`, for a directory on $fpath). */
export function zshCompletion(): string {
  const commandList = [
    ...commandEntries().map(([name, c]) => `${name}:${c.summary}`),
    `help:${HELP_SUMMARY}`,
    `h:${HELP_SUMMARY}`,
  ]
    .map((entry) => `    ${shellWord(entry)}\n`)
    .join('');
  const cases = commandEntries()
    .map(([name, command]) => {
      const first = takesContainer(name) ? `        '1:container id:_corral_containers' \\\n` : '';
      const rest = PASS_ON.includes(name) ? `        '*::arguments:_normal' \\\n` : '';
      return `    ${name})\n      _arguments -s -S \\\n${zshSpecs(command.flags, '        ')}${first}${rest}        && ret=0\n      ;;\n`;
    })
    .join('');
  return `#compdef corral
${HEADER}
_corral_containers() {
  local -a ids
  ids=(\${(f)"$(_call_program containers $service list -q 2>/dev/null)"})
  _describe -t containers 'container id' ids
}

_corral() {
  local curcontext=$curcontext state line ret=1
  local -a commands
  commands=(
${commandList}  )
  _arguments -C -s -S \\
${zshSpecs(GLOBAL_FLAGS, '    ')}    '1:command:->command' \\
    '*::argument:->argument' && ret=0
  case $state in
  command)
    _describe -t commands 'corral command' commands && ret=0
    ;;
  argument)
    curcontext=\${curcontext%:*:*}:corral-$words[1]:
    case $words[1] in
${cases}    help|h)
      _describe -t commands 'corral command' commands && ret=0
      ;;
    esac
    ;;
  esac
  return ret
}

_corral "$@"
`;
}

/** The fish completions: one `complete` line per command and flag. */
export function fishCompletion(): string {
  const globalValues = valueSpellings(GLOBAL_FLAGS).join(' ');
  const line = (condition: string, name: string, flag: Flag) => {
    const parts = ['complete -c corral', `-n ${shellWord(condition)}`, `-l ${name}`];
    if (flag.short) parts.push(`-s ${flag.short}`);
    if (flag.type === 'string') {
      parts.push('-r');
      if (flag.complete === 'file') parts.push('-F');
      else if (flag.complete === 'directory') parts.push(`-a ${shellWord('(__fish_complete_directories)')}`);
      else if (flag.complete) parts.push(`-f -a ${shellWord(flag.complete.join(' '))}`);
      else parts.push('-f');
    }
    parts.push(`-d ${shellWord(flag.help)}`);
    return `${parts.join(' ')}\n`;
  };
  const globals = Object.entries(GLOBAL_FLAGS)
    .map(([name, flag]) => line('not __corral_command', name, flag))
    .join('');
  const commands = [
    ...commandEntries().map(([name, c]) => [name, c.summary] as const),
    ['help', HELP_SUMMARY] as const,
  ]
    .map(
      ([name, summary]) =>
        `complete -c corral -n ${shellWord('not __corral_command')} -f -a ${name} -d ${shellWord(summary)}\n`,
    )
    .join('');
  const flags = commandEntries()
    .flatMap(([command, c]) =>
      Object.entries(c.flags as Flags).map(([name, flag]) => line(`__corral_using ${command}`, name, flag)),
    )
    .join('');
  const valueFlagCases = commandEntries()
    .map(([name, c]) => `        case ${name}\n            set flags ${valueSpellings(c.flags).join(' ')}\n`)
    .join('');
  return `${HEADER}
# The command on the line so far (after the global flags and their values), if any.
function __corral_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for token in $tokens
        if test $skip -eq 1
            set skip 0
        else if contains -- $token ${globalValues}
            set skip 1
        else if not string match -q -- '-*' $token
            echo $token
            return 0
        end
    end
    return 1
end

function __corral_using
    set -l command (__corral_command); and test "$command" = $argv[1]
end

# Whether the container id is the word being completed: no argument yet after the command's
# flags and their values.
function __corral_wants_container
    set -l command (__corral_command); or return 1
    contains -- $command ${containerCommands()}; or return 1
    set -l flags
    switch $command
${valueFlagCases}    end
    set -l tokens (commandline -opc)
    set -l seen 0
    set -l skip 0
    for token in $tokens
        if test $seen -eq 0
            test "$token" = $command; and set seen 1
        else if test $skip -eq 1
            set skip 0
        else if contains -- $token $flags
            set skip 1
        else if not string match -q -- '-*' $token
            return 1
        end
    end
    return 0
end

complete -c corral -f
${commands}complete -c corral -n '__corral_using help' -f -a ${shellWord(Object.keys(COMMANDS).join(' '))}
complete -c corral -n '__corral_wants_container' -f -a '(corral list -q 2>/dev/null)' -d 'container'
${globals}${flags}`;
}
