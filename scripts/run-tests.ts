// Runs every *.test.ts under one folder with node:test. Human-readable spec output goes
// to stdout; the TAP summary (`# pass N` / `# fail N`) is printed last for CI to read.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

const [root = 'test', ...filters] = process.argv.slice(2);
const files = (existsSync(root) ? findTests(root) : []).filter(
  (f) => filters.length === 0 || filters.some((x) => f.includes(x)),
);
if (files.length === 0) {
  console.log(`no test files under ${root}`);
  console.log('# pass 0\n# fail 0');
  process.exit(0);
}
const tapFile = join(tmpdir(), `workflow-router-tests-${process.pid}.tap`);
const run = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-timeout=180000',
    // Not --test-force-exit: on Node 24 it ends a file before its last suites have run (36 tests
    // of e2e/kube-api-logic.test.ts became 30, all passing). Helpers kill a child that fails to
    // start instead, so a failed setup cannot keep a file alive.
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '1'}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
const summary = readFileSync(tapFile, 'utf8')
  .split('\n')
  .filter((line) => /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(line));
console.log(summary.join('\n'));
rmSync(tapFile, { force: true });
process.exit(run.status ?? 1);
