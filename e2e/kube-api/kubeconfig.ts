// The kubeconfig that points kubectl and @kubernetes/client-node at an emulator: plain
// HTTP and a static token (the emulator does no authentication, a client still wants a user).
// client-node 2.x refuses http:// servers unless insecure-skip-tls-verify is set.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const CONTEXT_NAME = 'kube-api-emulator';

/** Renders the kubeconfig for a server URL; `default` is the context's namespace. */
export function kubeconfigYaml(serverUrl: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CONTEXT_NAME, cluster: { server: serverUrl, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'tester', user: { token: 'kube-api-emulator-token' } }],
    contexts: [
      { name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: 'tester', namespace: 'default' } },
    ],
    'current-context': CONTEXT_NAME,
    preferences: {},
  });
}

/** Writes `kubeconfig` into `dir` and returns its path. */
export function writeKubeconfig(dir: string, serverUrl: string): string {
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, kubeconfigYaml(serverUrl), { mode: 0o600 });
  return path;
}
