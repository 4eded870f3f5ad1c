// scripts/audit.ts (make audit): high or critical advisories fail; an audit endpoint that
// cannot be used is reported and passes; moderate ones are reported and pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE, REPO_ROOT } from '../helpers/router.ts';

function judge(report: unknown): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wr-audit-'));
  try {
    const file = join(dir, 'report.json');
    writeFileSync(file, JSON.stringify(report));
    const run = spawnSync(NODE, ['scripts/audit.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, AUDIT_REPORT: file },
      encoding: 'utf8',
    });
    return { code: run.status, out: run.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const counts = (high: number, critical: number, moderate = 0) => ({
  metadata: {
    vulnerabilities: { info: 0, low: 0, moderate, high, critical, total: high + critical + moderate },
  },
});

test('high or critical advisories fail the audit, naming the package', () => {
  const r = judge({
    ...counts(1, 0),
    vulnerabilities: { 'bad-pkg': { severity: 'high', via: [{ title: 'Prototype pollution' }] } },
  });
  assert.equal(r.code, 1);
  assert.match(r.out, /high: bad-pkg \(Prototype pollution\)/);
});

test('an unusable audit endpoint is reported and does not fail', () => {
  const r = judge({ error: { code: 'E405', summary: '405 Method Not Allowed' } });
  assert.equal(r.code, 0);
  assert.match(r.out, /could not be used \(405 Method Not Allowed\)/);
});

test('moderate advisories alone pass', () => {
  const r = judge({ ...counts(0, 0, 2), vulnerabilities: { m: { severity: 'moderate', via: ['x'] } } });
  assert.equal(r.code, 0);
  assert.match(r.out, /0 critical, 0 high, 2 moderate/);
});
