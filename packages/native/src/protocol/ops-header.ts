/**
 * Renders corral-init's op table (src/init/ops.h) from OPS, so that the C side has no list of
 * its own to keep in step. test/unit/ops-header.test.ts compares the checked-in header with
 * this rendering; running that test with `-u` rewrites it.
 */
import { OPS } from './protocol.js';

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A C comment of `text`, wrapped to stay under 100 columns. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '/*';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > 96) {
      lines.push(line);
      line = ' *';
    }
    line += ` ${word}`;
  }
  lines.push(`${line} */`);
  return lines;
}

export function renderOpsHeader(): string {
  const ops = Object.entries(OPS).sort(([, a], [, b]) => a.code - b.code);
  const lines = [
    '/*',
    ' * Generated from OPS in protocol.ts by ops-header.ts: do not edit. Change OPS, then run',
    ' * `./tooling/pnpm exec vitest run packages/native/test/unit/ops-header.test.ts -u`.',
    ' *',
    ' * CI_OPS(X) calls X(NAME, name, code) for every op; CI_FIELDS_<name>(F) calls F(kind, field)',
    ' * for each of its fields in wire order, kind being u32, u64, str, strs or u32s.',
    ' */',
    '#ifndef CORRAL_INIT_OPS_H',
    '#define CORRAL_INIT_OPS_H',
    '',
  ];
  for (const [name, spec] of ops) {
    lines.push(...comment(`${spec.code} ${name}: ${spec.doc}`));
    const fields = spec.fields.map(([field, kind]) => ` F(${kind}, ${snake(field)})`).join('');
    lines.push(`#define CI_FIELDS_${snake(name)}(F)${fields}`);
  }
  lines.push('', '#define CI_OPS(X) \\');
  ops.forEach(([name, spec], i) => {
    const end = i === ops.length - 1 ? '' : ' \\';
    lines.push(`  X(${snake(name).toUpperCase()}, ${snake(name)}, ${spec.code})${end}`);
  });
  lines.push('', '#endif', '');
  return lines.join('\n');
}
