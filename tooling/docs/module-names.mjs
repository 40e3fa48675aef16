// A TypeDoc plugin: each package's module is named after the package (`@corral/native`) rather
// than after its entry point's path (`native/src`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Converter, ReflectionKind } from 'typedoc';

const packagesDir = fileURLToPath(new URL('../../packages/', import.meta.url));

export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      const dir = /^(\w+)\/src$/.exec(module.name)?.[1];
      if (!dir) continue;
      module.name = JSON.parse(readFileSync(`${packagesDir}${dir}/package.json`, 'utf8')).name;
    }
  });
}
