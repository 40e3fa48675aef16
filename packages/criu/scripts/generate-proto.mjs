// Compiles proto/rpc.proto into static encoders and decoders (src/generated/rpc.js) and their
// types (src/generated/rpc.d.ts) with protobufjs-cli, so nothing parses .proto at run time.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pbjs, pbts } from 'protobufjs-cli';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${packageDir}src/generated`;
const js = `${outDir}/rpc.js`;
const dts = `${outDir}/rpc.d.ts`;

function run(tool, args) {
  return new Promise((resolve, reject) => {
    tool.main(args, (error) => (error ? reject(error) : resolve()));
  });
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const proto = `${packageDir}proto/rpc.proto`;
const only = ['--no-create', '--no-verify', '--no-convert', '--no-delimited', '--no-typeurl', '--no-service'];
await run(pbjs, [
  '--target',
  'static-module',
  '--wrap',
  `${packageDir}scripts/rpc-wrapper.esm.tmpl`,
  '--es6',
  ...only,
  '--out',
  js,
  proto,
]);
await run(pbts, ['--no-comments', '--out', dts, js]);
// rpc.proto has no 64-bit fields, so the declarations never need the `long` package.
const declarations = readFileSync(dts, 'utf8').replace(/^import Long = require\("long"\);\n/m, '');
if (declarations.includes('Long')) throw new Error('rpc.d.ts refers to Long: a 64-bit field was added');
writeFileSync(dts, `// Generated from proto/rpc.proto at build time: do not edit.\n${declarations}`);
console.log(`generated ${js} and ${dts}`);
