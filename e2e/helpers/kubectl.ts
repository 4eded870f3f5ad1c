// Runs the real kubectl (.tools/bin/kubectl, installed by `make tools`) against a
// kubeconfig, asynchronously so an in-process API server keeps serving meanwhile, with a
// private discovery cache directory so parallel servers never share cached discovery.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const KUBECTL = resolve(import.meta.dirname, '../../.tools/bin/kubectl');

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** True when `make tools` has installed kubectl. */
export function kubectlInstalled(): boolean {
  return existsSync(KUBECTL);
}

/** A kubectl bound to one kubeconfig and one cache directory. */
export class Kubectl {
  readonly kubeconfig: string;
  readonly cacheDir: string;

  constructor(kubeconfig: string) {
    this.kubeconfig = kubeconfig;
    this.cacheDir = mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: this.cacheDir, HOME: this.cacheDir };
  }

  /** Starts kubectl and leaves it running (e.g. `get -w`); the caller kills it. */
  start(args: string[]): ChildProcessWithoutNullStreams {
    return spawn(KUBECTL, args, { env: this.env() });
  }

  /** Runs kubectl to completion, feeding `input` on stdin. */
  run(args: string[], input?: string): Promise<KubectlResult> {
    return new Promise((resolvePromise, reject) => {
      const child = this.start(args);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
      child.stdin.end(input ?? '');
    });
  }

  /** Runs kubectl and fails with its stderr unless it exits 0. */
  async ok(args: string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${String(r.code)}: ${r.stderr}`);
    return r.stdout;
  }
}
