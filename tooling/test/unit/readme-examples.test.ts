import { describe, expect, it } from 'vitest';

import { readmeExamples } from '../../readme-examples.js';

describe('readmeExamples', () => {
  it('takes the fenced block after each marker, verbatim, and nothing unmarked', () => {
    const readme = [
      '# pkg',
      '```js',
      'not marked',
      '```',
      '<!-- example: first.mjs -->',
      '```js',
      'const a = 1;',
      '',
      '  indented();',
      '```',
      'text',
      '<!--example: second.sh-->',
      '````sh',
      'echo "```"',
      '````',
    ].join('\n');
    expect(readmeExamples(readme, 'pkg', 'packages/pkg/README.md')).toEqual([
      {
        packageName: 'pkg',
        file: 'first.mjs',
        code: 'const a = 1;\n\n  indented();\n',
        origin: 'packages/pkg/README.md:7',
      },
      { packageName: 'pkg', file: 'second.sh', code: 'echo "```"\n', origin: 'packages/pkg/README.md:14' },
    ]);
  });

  it('refuses a marker without a code block after it, or a block that never ends', () => {
    expect(() => readmeExamples('<!-- example: a.mjs -->\ntext\n', 'pkg', 'R')).toThrow(
      'R:1: an example marker',
    );
    expect(() => readmeExamples('<!-- example: a.mjs -->\n```js\ncode\n', 'pkg', 'R')).toThrow(
      'R:2: the example',
    );
  });
});
