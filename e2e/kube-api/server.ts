// The programmatic entry point: start an emulated Kubernetes API server on a port, with a
// kubeconfig written for it, test controls (close watches, compact history) and in-process
// helpers that read and write objects without HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from './cluster.ts';
import type { ListOptions } from './cluster.ts';
import { StatusError } from './errors.ts';
import { createHandler } from './handler.ts';
import type { RequestRecord } from './handler.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import type { KubeObject } from './meta.ts';
import { parseApiVersion } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { WatchHub } from './watch.ts';

export type { KubeObject } from './meta.ts';
export type { RequestRecord } from './handler.ts';

export interface KubeApiOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Watch events kept for resuming watches; older resourceVersions get 410 Gone. Default 1000. */
  historyLimit?: number;
  /** How often watches that allow bookmarks get one. Default 60 s, as the apiserver's cadence. */
  bookmarkIntervalMs?: number;
  /** Called once per finished request (e.g. to see what kubectl sends). */
  onRequest?: (r: RequestRecord) => void;
}

export interface KubeApi {
  url: string;
  port: number;
  /** A kubeconfig (in a temporary directory removed by close()) whose current context is this server. */
  kubeconfigPath: string;
  /** The cluster model behind the server, for tests that need more than the helpers. */
  cluster: Cluster;
  /** Open watch connections right now. */
  readonly openWatches: number;
  /** Ends every open watch, as an apiserver restart or timeout would; clients must reconnect. */
  closeWatches(): void;
  /** Forgets the event history: watching from any earlier resourceVersion now gets 410 Gone. */
  compact(): void;
  /** Stops the server, destroying open watch sockets, and removes the kubeconfig. */
  close(): Promise<void>;
  /** The object (in that apiVersion) or undefined; `namespace` is ignored for cluster-scoped kinds. */
  get(
    apiVersion: string,
    plural: string,
    namespace: string | undefined,
    name: string,
  ): KubeObject | undefined;
  /** Objects of a kind, in one namespace or all (undefined), optionally filtered by selectors. */
  list(
    apiVersion: string,
    plural: string,
    namespace?: string,
    opts?: Pick<ListOptions, 'labelSelector' | 'fieldSelector'>,
  ): KubeObject[];
  /** Creates or replaces an object, spec and status together, as its controller (or kubelet) would. */
  apply(obj: KubeObject): KubeObject;
  /** Deletes an object as a client would (finalizers hold it); no error when it is absent. */
  delete(apiVersion: string, plural: string, namespace: string | undefined, name: string): void;
}

function typeFor(cluster: Cluster, apiVersion: string, plural: string): ResourceType {
  const { group, version } = parseApiVersion(apiVersion);
  const rt = cluster.registry.lookup(group, version, plural);
  if (!rt) throw new Error(`kube-api: ${plural} in ${apiVersion} is not served`);
  return rt;
}

/** Starts an emulated Kubernetes API server; see KubeApi for what it offers. */
export async function startKubeApi(opts: KubeApiOptions = {}): Promise<KubeApi> {
  const cluster = new Cluster({ historyLimit: opts.historyLimit ?? 1000 });
  const hub = new WatchHub(opts.bookmarkIntervalMs ?? 60_000);
  cluster.onTypesChanged = (removed) => hub.closeTypes(removed);
  const server: Server = createServer(
    createHandler(cluster, hub, opts.onRequest ? { onRequest: opts.onRequest } : {}),
  );
  server.keepAliveTimeout = 5000;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'kube-api-'));
  const kubeconfigPath = writeKubeconfig(dir, url);
  let closed = false;

  return {
    url,
    port,
    kubeconfigPath,
    cluster,
    get openWatches() {
      return hub.size;
    },
    closeWatches: () => hub.closeAll(),
    compact: () => cluster.store.compact(),
    close: async () => {
      if (closed) return;
      closed = true;
      hub.destroyAll();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
      rmSync(dir, { recursive: true, force: true });
    },
    get: (apiVersion, plural, namespace, name) =>
      cluster.load(typeFor(cluster, apiVersion, plural), namespace, name),
    list: (apiVersion, plural, namespace, listOpts = {}) =>
      cluster.list(typeFor(cluster, apiVersion, plural), namespace, listOpts).items,
    apply: (obj) => cluster.put(obj),
    delete: (apiVersion, plural, namespace, name) => {
      try {
        cluster.deleteAsController(typeFor(cluster, apiVersion, plural), {
          apiVersion,
          kind: '',
          metadata: { name, namespace },
        });
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    },
  };
}
