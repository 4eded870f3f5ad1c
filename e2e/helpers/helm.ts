// Runs the real helm (.tools/bin/helm, installed by `make tools`) against a kubeconfig,
// asynchronously, with private cache/config/data directories.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KubectlResult } from './kubectl.ts';

export const HELM = resolve(import.meta.dirname, '../../.tools/bin/helm');

export function helmInstalled(): boolean {
  return existsSync(HELM);
}

export class Helm {
  readonly kubeconfig: string;
  readonly home: string;

  constructor(kubeconfig: string) {
    this.kubeconfig = kubeconfig;
    this.home = mkdtempSync(join(tmpdir(), 'helm-home-'));
  }

  run(args: string[]): Promise<KubectlResult> {
    const env = {
      ...process.env,
      KUBECONFIG: this.kubeconfig,
      HELM_CACHE_HOME: join(this.home, 'cache'),
      HELM_CONFIG_HOME: join(this.home, 'config'),
      HELM_DATA_HOME: join(this.home, 'data'),
      HOME: this.home,
    };
    return new Promise((resolvePromise, reject) => {
      const child = spawn(HELM, args, { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    });
  }

  async ok(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${String(r.code)}: ${r.stderr}`);
    return r.stdout;
  }
}
