import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bashCompletion, fishCompletion, zshCompletion } from '../../src/docs/completion.js';
import { commandManual, mainManual } from '../../src/docs/manual.js';
import { COMMANDS, type CommandName, type Flag, GLOBAL_FLAGS } from '../../src/flags.js';

const run = (
  command: string,
  args: string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
) => spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, ...options });

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'corral-docs-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const pages: Array<[string, string]> = [
  ['corral.8', mainManual('1.2.3')],
  ...(Object.keys(COMMANDS) as CommandName[]).map(
    (name) => [`corral-${name}.8`, commandManual(name, '1.2.3')] as [string, string],
  ),
];

/** A page as groff renders it for a terminal: plain text, lines 200 columns long. */
const rendered = (page: string) =>
  run('groff', ['-man', '-Tascii', '-P', '-cbou', '-rLL=200n'], { input: page }).stdout;

describe('the manual pages', () => {
  it.each(pages)('%s renders without a single groff warning', (_, page) => {
    const groff = run('groff', ['-man', '-ww', '-z'], { input: page });
    expect(groff.stderr).toBe('');
    expect(groff.status).toBe(0);
  });

  it('corral.8 reads as man -l shows it, with every command and global flag', () => {
    const file = join(scratch, 'corral.8');
    writeFileSync(file, mainManual('1.2.3'));
    const man = run('man', ['--warnings', '-l', file], { env: { ...process.env, MANWIDTH: '200' } });
    expect(man.stderr).toBe('');
    expect(man.stdout).toMatch(/^NAME\n {7}corral - an OCI container runtime, compatible with runc$/m);
    for (const name of Object.keys(COMMANDS)) expect(man.stdout).toContain(`corral-${name}(8)`);
    for (const name of Object.keys(GLOBAL_FLAGS))
      expect(man.stdout).toMatch(new RegExp(`^ {7}--${name}\\b`, 'm'));
    expect(man.stdout).toContain('corral 1.2.3');
  });

  it.each(
    Object.keys(COMMANDS) as CommandName[],
  )('corral-%s.8 names every flag the command parses', (name) => {
    const text = rendered(commandManual(name, '1.2.3'));
    expect(text).toContain(`corral ${name}`);
    for (const [flag, definition] of Object.entries(COMMANDS[name].flags as Record<string, Flag>)) {
      const value = definition.type === 'string' ? ` ${definition.value}` : '';
      // A plain ASCII minus, as a shell takes it, not a typographic hyphen.
      expect(text).toContain(`--${flag}${value}`);
    }
  });
});

/** A stand-in for corral that completion runs for container ids: it prints its arguments. */
function fakeCorral(): string {
  const path = join(scratch, 'corral');
  writeFileSync(
    path,
    '#!/bin/sh\n[ "$*" = "--root /srv/state list -q" ] && echo web && echo db && exit 0\necho box\n',
  );
  chmodSync(path, 0o755);
  return path;
}

describe('bash completion', () => {
  let script: string;
  beforeAll(() => {
    script = join(scratch, 'corral.bash');
    writeFileSync(script, bashCompletion());
    mkdirSync(join(scratch, 'bundle-dir'), { recursive: true });
  });

  /** COMPREPLY for the words typed so far, the last one being completed. */
  const complete = (...words: string[]) => {
    const assign = words.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
    const result = run(
      'bash',
      [
        '--norc',
        '-c',
        `source "$1"; COMP_WORDS=(${assign}); COMP_CWORD=${words.length - 1}; _corral; printf '%s\\n' "\${COMPREPLY[@]}"`,
        'bash',
        script,
      ],
      { cwd: scratch },
    );
    expect(result.stderr).toBe('');
    return result.stdout.split('\n').filter(Boolean);
  };

  it('registers itself for corral', () => {
    expect(run('bash', ['--norc', '-c', 'source "$1"; complete -p corral', 'bash', script]).stdout).toBe(
      'complete -F _corral corral\n',
    );
  });

  it('completes commands, flags and the values it knows', () => {
    expect(complete('corral', 'ch')).toEqual(['checkpoint']);
    expect(complete('corral', '--log-f')).toEqual(['--log-format']);
    expect(complete('corral', '--log-format', '')).toEqual(['text', 'json']);
    expect(complete('corral', 'run', '--b')).toEqual(['--bundle']);
    expect(complete('corral', 'exec', '-')).toEqual(
      expect.arrayContaining(['-t', '--tty', '-e', '--env', '--cwd', '--ignore-paused']),
    );
    expect(complete('corral', '--root', '/x', 'checkpoint', '--manage-cgroups-mode=')).toEqual([
      'soft',
      'full',
      'strict',
      'ignore',
    ]);
    expect(complete('corral', 'run', '-b', 'bundle-')).toEqual(['bundle-dir']);
    expect(complete('corral', 'help', 'upd')).toEqual(['update']);
  });

  it('offers container ids from corral list -q, under the same --root', () => {
    const corral = fakeCorral();
    expect(complete(corral, '--root', '/srv/state', 'kill', '')).toEqual(['web', 'db']);
    expect(complete(corral, '--root=/srv/state', 'exec', '-t', 'w')).toEqual(['web']);
    // After the id, exec's words belong to the command run in the container.
    expect(complete(corral, '--root', '/srv/state', 'exec', 'web', '')).toEqual([]);
  });
});

/**
 * zsh completes only inside its line editor, so a zsh on a pseudoterminal (zpty) types the words
 * and presses tab, bound to a widget that completes and then marks the capture file done;
 * compadd is wrapped to write every match it is given to that file.
 */
const ZSH_CAPTURE = `
compadd() {
  if (( \${@[(I)-[ODA]]} )); then builtin compadd "$@"; return; fi
  local -a hits
  builtin compadd -O hits "$@"
  (( $#hits )) && print -rl -- $hits >> $CAPTURE
  builtin compadd "$@"
}
capture-completion() { zle complete-word; print -r -- '<done>' >> $CAPTURE; }
zle -N capture-completion
bindkey '^I' capture-completion
PS1='<ready>'
`;
/** $1: the directory of _corral and capture.zsh; $2: the capture file; then the lines to complete. */
const ZSH_DRIVER = `
zmodload zsh/zpty
zpty z env CAPTURE=$2 PATH=$PATH zsh -f -i
zpty -w z "fpath=(\${(q)1} \\$fpath); autoload -U compinit; compinit -u -D; source \${(q)1}/capture.zsh"
zpty -r z _ '*<ready>*'
integer n=0
for line in "\${@:3}"; do
  zpty -w -n z "$line"$'\\t'
  (( n++ ))
  for i in {1..600}; do (( $(grep -c '<done>' $2 2>/dev/null) >= n )) && break; sleep 0.1; done
  zpty -w -n z $'\\x15'
done
zpty -d z
`;

describe('zsh completion', () => {
  let dir: string;
  beforeAll(() => {
    dir = join(scratch, 'zsh');
    mkdirSync(join(dir, 'bundle-dir'), { recursive: true });
    writeFileSync(join(dir, '_corral'), zshCompletion());
    writeFileSync(join(dir, 'capture.zsh'), ZSH_CAPTURE);
    writeFileSync(join(dir, 'driver.zsh'), ZSH_DRIVER);
  });

  /** What zsh offers for each line: one zsh session completes them all, in order. */
  const complete = (...lines: string[]) => {
    const capture = join(dir, 'capture');
    rmSync(capture, { force: true });
    const result = run('zsh', ['-f', join(dir, 'driver.zsh'), dir, capture, ...lines], {
      cwd: dir,
      env: { ...process.env, PATH: `${scratch}:${process.env.PATH}` },
    });
    expect(result.status).toBe(0);
    const answers = readFileSync(capture, 'utf8').split('<done>\n');
    expect(answers).toHaveLength(lines.length + 1);
    return answers.slice(0, -1).map((answer) => [...new Set(answer.split('\n').filter(Boolean))].sort());
  };

  it('is valid zsh, registered for corral by compinit', () => {
    expect(run('zsh', ['-n', join(dir, '_corral')]).stderr).toBe('');
    const result = run('zsh', [
      '-fc',
      `fpath=(${dir} $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[corral]`,
    ]);
    expect(result.stdout).toBe('_corral\n');
  });

  it('completes commands, flags, the values it knows and container ids', () => {
    fakeCorral();
    expect(
      complete(
        'corral ch',
        'corral --log-format ',
        'corral run --bu',
        'corral run -b bun',
        'corral exec -e A=b --c',
        'corral checkpoint --manage-cgroups-mode=',
        'corral help up',
        'corral kill ',
      ),
    ).toEqual([
      ['checkpoint'],
      ['json', 'text'],
      ['--bundle'],
      ['bundle-dir'],
      ['--cap', '--cgroup', '--console-socket', '--cwd'],
      ['full', 'ignore', 'soft', 'strict'],
      ['update'],
      ['box'],
    ]);
  });
});

describe('fish completion', () => {
  let script: string;
  beforeAll(() => {
    script = join(scratch, 'corral.fish');
    writeFileSync(script, fishCompletion());
  });

  /** What fish offers for the command line typed so far: candidates without descriptions. */
  const complete = (line: string) => {
    const result = run('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', script, line], {
      env: { ...process.env, PATH: `${scratch}:${process.env.PATH}` },
    });
    expect(result.stderr).toBe('');
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((entry) => entry.split('\t')[0]);
  };

  it('completes commands, flags and the values it knows', () => {
    expect(complete('corral ch')).toEqual(['checkpoint']);
    expect(complete('corral run --bu')).toEqual(['--bundle']);
    expect(complete('corral --log-format ')).toEqual(['json', 'text']);
    expect(complete('corral exec --')).toEqual(expect.arrayContaining(['--tty', '--env', '--ignore-paused']));
    expect(complete('corral --root /x exec --')).toContain('--tty');
    expect(complete('corral checkpoint --manage-cgroups-mode ')).toEqual([
      'full',
      'ignore',
      'soft',
      'strict',
    ]);
    expect(complete('corral help upd')).toEqual(['update']);
  });

  it('offers container ids where one is expected', () => {
    fakeCorral();
    expect(complete('corral kill ')).toEqual(['box']);
    expect(complete('corral run --bundle /b ')).toEqual(['box']);
    expect(complete('corral run --bundle /b box ')).toEqual([]);
  });
});

describe('the generated files', () => {
  it("are all in package.json's man list, which npm links on a global install", () => {
    const { man } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(man).toEqual(pages.map(([name]) => `./man/${name}`));
  });

  it('are what the build wrote into the package', () => {
    const dir = new URL('../../', import.meta.url);
    const read = (path: string) => {
      try {
        return readFileSync(new URL(path, dir), 'utf8');
      } catch {
        return undefined;
      }
    };
    // The build writes them (tsup's onSuccess); a stale build is caught here.
    const version = JSON.parse(read('package.json')!).version;
    expect(read('man/corral.8')).toBe(mainManual(version));
    expect(read('man/corral-run.8')).toBe(commandManual('run', version));
    expect(read('completions/corral.bash')).toBe(bashCompletion());
    expect(read('completions/_corral')).toBe(zshCompletion());
    expect(read('completions/corral.fish')).toBe(fishCompletion());
  });
});

describe('the README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  /** The `### corral a, b` sections (and `### Global flags`): heading words and text. */
  const sections = readme
    .split(/^### /m)
    .slice(1)
    .map((section) => {
      const [heading = '', ...body] = section.split('\n');
      return {
        names: heading.replace(/^corral /, '').split(/,\s*/),
        text: body.join('\n').split(/^## /m)[0]!,
      };
    });
  const sectionOf = (name: string) => sections.find((section) => section.names.includes(name));
  const flagsIn = (text: string) =>
    new Set([...text.matchAll(/`(--[a-z][\w-]*)/g)].map((match) => match[1]!));

  it.each(Object.keys(COMMANDS))('describes corral %s and every flag it takes', (name) => {
    const section = sectionOf(name);
    expect(section, `no "### corral ... ${name}" section`).toBeDefined();
    const mentioned = flagsIn(section!.text);
    for (const flag of Object.keys(COMMANDS[name as CommandName].flags))
      expect(mentioned).toContain(`--${flag}`);
  });

  it('names no flag a command lacks, and every global flag', () => {
    for (const section of sections) {
      const known = [
        ...Object.keys(GLOBAL_FLAGS),
        ...section.names.flatMap((name) => Object.keys(COMMANDS[name as CommandName]?.flags ?? {})),
      ];
      for (const flag of flagsIn(section.text)) expect(known.map((k) => `--${k}`)).toContain(flag);
    }
    const global = flagsIn(sectionOf('Global flags')!.text);
    for (const flag of Object.keys(GLOBAL_FLAGS)) expect(global).toContain(`--${flag}`);
  });
});
