import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

for (const bin of ['workflow-router', 'workflow-operator', 'vllm-sim']) {
  test(`${bin} --help prints usage and exits 0`, () => {
    const run = spawnSync(process.execPath, [`bin/${bin}.js`, '--help'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`Usage: ${bin}`));
  });
}
