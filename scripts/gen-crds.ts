// Writes crds/*.yaml from core's zod schemas (and the chart's copy when the chart exists).
import { existsSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { CRD_FILES } from '../core/crd/crd-builder.ts';

const HEADER = '# Generated from core/ zod schemas by `npm run gen:crds`; do not edit by hand.\n';

export function renderCrds(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(CRD_FILES).map(([file, build]) => [file, HEADER + stringify(build(), { lineWidth: 0 })]),
  );
}

if (import.meta.main) {
  for (const [file, text] of Object.entries(renderCrds())) {
    for (const dir of ['crds', 'helm/workflow-router/crds']) {
      if (dir !== 'crds' && !existsSync(dir)) continue;
      writeFileSync(`${dir}/${file}`, text);
      console.log(`wrote ${dir}/${file}`);
    }
  }
}
