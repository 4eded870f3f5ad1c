// `make bench` / `npm run bench`: runs the benchmark suite and writes its results.
// See bench/cli.ts for the flags and README.md ("Performance") for what the figures mean.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseCli, USAGE, UsageError } from './cli.ts';
import { progressLine } from './progress.ts';
import { headlineTable, renderMarkdown, targetsTable } from './report/markdown.ts';
import { renderSvg } from './report/svg.ts';
import { runSuite, type SuiteResult } from './suite.ts';
import { checkTargets } from './targets.ts';

/** Rewrites the headline table between README.md's markers from a run. */
function updateReadme(result: SuiteResult): void {
  const file = 'README.md';
  const begin = '<!-- bench:headline:begin -->';
  const end = '<!-- bench:headline:end -->';
  const headline = headlineTable(result);
  const readme = readFileSync(file, 'utf8');
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a < 0 || b < a || !headline) {
    process.stderr.write(
      `bench: README.md has no ${begin} … ${end} markers (or no pipeline run); not updated\n`,
    );
    return;
  }
  const m = result.machine;
  const body = [
    headline,
    '',
    `Measured by \`${result.command}\` (commit ${result.commit ?? 'unknown'}, ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC) ` +
      `on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; the machine was shared with other work ` +
      `(load average ${m.loadAverageBefore[0]?.toFixed(1)} when the run started).`,
  ].join('\n');
  writeFileSync(file, `${readme.slice(0, a + begin.length)}\n${body}\n${readme.slice(b)}`);
  process.stdout.write('README.md: Performance headline updated\n');
}

let options;
try {
  options = parseCli(process.argv.slice(2));
} catch (error) {
  if (
    error instanceof UsageError ||
    (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  throw error;
}
if (options === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if ('render' in options) {
  // Redraws the markdown and the chart of an earlier run (the figures are not recomputed).
  const file = options.render;
  const result = JSON.parse(readFileSync(file, 'utf8')) as SuiteResult;
  const base = file.replace(/\.json$/, '');
  const checks = checkTargets(result);
  writeFileSync(`${base}.md`, renderMarkdown(result, checks, `${basename(base)}.svg`));
  writeFileSync(`${base}.svg`, renderSvg(result));
  process.stdout.write(`rendered ${base}.md and ${base}.svg\n`);
  if (options.readme) updateReadme(result);
  process.exit(0);
}

const { plan, outDir } = options;
mkdirSync(outDir, { recursive: true });
if (options.cpuProf) mkdirSync(join(outDir, 'profiles'), { recursive: true });
const result = await runSuite(plan, progressLine());
const checks = checkTargets(result);
const svgName = `${plan.name}.svg`;
writeFileSync(
  join(outDir, `${plan.name}.json`),
  `${JSON.stringify({ ...result, targets: checks }, null, 2)}\n`,
);
writeFileSync(join(outDir, `${plan.name}.md`), renderMarkdown(result, checks, svgName));
writeFileSync(join(outDir, svgName), renderSvg(result));

const failed = result.workloads.flatMap((w) => w.logics).reduce((n, l) => n + l.failed, 0);
process.stdout.write(`\n${targetsTable(checks)}\n\n`);
const headline = headlineTable(result);
if (headline) process.stdout.write(`${headline}\n\n`);
process.stdout.write(`results: ${join(outDir, plan.name)}.{json,md,svg}\n`);
if (failed > 0) process.stdout.write(`warning: ${failed} calls failed (see the tables' "failed" column)\n`);

if (options.readme) updateReadme(result);
