import { existsSync, readFileSync } from 'node:fs';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { CoreV1Event, KubernetesObject, V1Lease } from '@kubernetes/client-node';
import { z } from 'zod';
import { GROUP, VERSION } from '../core/crd/crd-builder.ts';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The two custom resources' plurals. */
export type CustomPlural = 'vllmpools' | 'workflows';

/** A list answer: items still to be validated, and the resourceVersion to watch from. */
export interface RawList {
  items: KubernetesObject[];
  metadata: { resourceVersion?: string };
}

const rawListSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }).optional(),
  items: z.array(z.record(z.string(), z.unknown())),
});

function rawList(value: unknown): RawList {
  const list = rawListSchema.parse(value);
  return { items: list.items, metadata: list.metadata ?? {} };
}

/** The HTTP status of a failed API call (undefined for errors that are not API answers). */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/**
 * The operator's thin wrapper over @kubernetes/client-node: loads the kubeconfig and offers
 * the handful of calls the controllers make, with the API group and patch types fixed.
 */
export class Kube {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  /** `path` when given; else the in-cluster config inside a pod; else $KUBECONFIG or ~/.kube/config. */
  static load(path?: string): Kube {
    const kc = new KubeConfig();
    if (path !== undefined) kc.loadFromFile(path);
    else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error('the kubeconfig names no current cluster');
    return new Kube(kc);
  }

  /** The namespace of the pod the operator runs in (undefined outside a cluster). */
  static podNamespace(): string | undefined {
    if (!existsSync(SERVICE_ACCOUNT_NAMESPACE)) return undefined;
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  }

  /** The watch path of a custom resource, in one namespace or all. */
  static customPath(plural: CustomPlural, namespace: string | undefined): string {
    return namespace === undefined
      ? `/apis/${GROUP}/${VERSION}/${plural}`
      : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`;
  }

  static podsPath(namespace: string | undefined): string {
    return namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`;
  }

  async listCustom(plural: CustomPlural, namespace: string | undefined): Promise<RawList> {
    const list: unknown =
      namespace === undefined
        ? await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
        : await this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural });
    return rawList(list);
  }

  async listPods(namespace: string | undefined): Promise<RawList> {
    const list =
      namespace === undefined
        ? await this.core.listPodForAllNamespaces()
        : await this.core.listNamespacedPod({ namespace });
    return {
      items: list.items,
      metadata: {
        ...(list.metadata?.resourceVersion !== undefined
          ? { resourceVersion: list.metadata.resourceVersion }
          : {}),
      },
    };
  }

  /** Merge-patches the status subresource (spec and metadata are untouched). */
  async patchStatus(plural: CustomPlural, namespace: string, name: string, status: unknown): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural, name, body: { status } },
      mergePatch,
    );
  }

  /**
   * Sets the finalizers of a custom resource. The resourceVersion makes it conditional: a
   * concurrent change answers 409 and the reconcile runs again on fresh data.
   */
  async setFinalizers(
    plural: CustomPlural,
    namespace: string,
    name: string,
    finalizers: string[],
    resourceVersion: string | undefined,
  ): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
        body: { metadata: { finalizers, ...(resourceVersion !== undefined ? { resourceVersion } : {}) } },
      },
      mergePatch,
    );
  }

  async createEvent(namespace: string, body: CoreV1Event): Promise<void> {
    await this.core.createNamespacedEvent({ namespace, body });
  }

  async patchEvent(namespace: string, name: string, body: Partial<CoreV1Event>): Promise<void> {
    await this.core.patchNamespacedEvent({ namespace, name, body }, mergePatch);
  }

  readLease(namespace: string, name: string): Promise<V1Lease> {
    return this.coordination.readNamespacedLease({ namespace, name });
  }

  createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body });
  }

  replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ namespace, name, body });
  }
}
