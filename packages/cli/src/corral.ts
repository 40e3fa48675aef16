#!/usr/bin/env node
// The `corral` executable. Enabling the compile cache before anything else is loaded lets every
// later run skip compiling the CLI's modules.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
