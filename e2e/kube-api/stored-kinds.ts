// Built-in kinds a Helm chart installs that the emulator stores, validates lightly and
// serves, but that no controller acts on: a Deployment never gets ReplicaSets, pods or a
// status, a Role grants nothing (there is no authorization). They exist so manifests and
// charts can be applied and read back, not to emulate what their controllers would do.
import {
  clusterRoleBindingSchema,
  clusterRoleSchema,
  daemonSetSchema,
  deploymentSchema,
  horizontalPodAutoscalerSchema,
  ingressSchema,
  networkPolicySchema,
  podDisruptionBudgetSchema,
  replicaSetSchema,
  roleBindingSchema,
  roleSchema,
  serviceAccountSchema,
  statefulSetSchema,
} from './builtin-schemas.ts';
import { builtin, defaultPodSpec, validateContainers } from './builtins.ts';
import { fieldErr } from './errors.ts';
import type { FieldError } from './errors.ts';
import { asStringMap, getPath, isObject } from './json.ts';
import type { KubeObject } from './meta.ts';
import { age, column, defaultPrinter, nameColumn } from './table.ts';
import type { Hooks, Printer, ResourceType } from './resources.ts';

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/** Defaults of apps/v1 workloads: replicas, history limit and the pod template's defaults. */
function workloadHooks(kind: string): Hooks {
  const defaults = (obj: KubeObject): void => {
    const spec = isObject(obj.spec) ? obj.spec : {};
    if (kind !== 'DaemonSet') spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    if (kind === 'Deployment') {
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    }
    const podSpec = getPath(spec, ['template', 'spec']);
    if (isObject(podSpec)) defaultPodSpec(podSpec);
  };
  return {
    prepareForCreate(obj) {
      defaults(obj);
      delete obj.status;
    },
    prepareForUpdate: defaults,
    validate(obj, old) {
      const errors: FieldError[] = [];
      const selector = getPath(obj, ['spec', 'selector']);
      const matchLabels = asStringMap(getPath(selector, ['matchLabels'])) ?? {};
      const templateLabels = asStringMap(getPath(obj, ['spec', 'template', 'metadata', 'labels'])) ?? {};
      if (isObject(getPath(obj, ['spec', 'template']))) {
        if (
          Object.keys(matchLabels).length === 0 &&
          !Array.isArray(getPath(selector, ['matchExpressions']))
        ) {
          errors.push(
            fieldErr.invalid('spec.selector', selector ?? {}, 'empty selector is invalid for deployment'),
          );
        }
        if (Object.entries(matchLabels).some(([k, v]) => templateLabels[k] !== v)) {
          errors.push(
            fieldErr.invalid(
              'spec.template.metadata.labels',
              templateLabels,
              '`selector` does not match template `labels`',
            ),
          );
        }
        errors.push(
          ...validateContainers(
            getPath(obj, ['spec', 'template', 'spec', 'containers']),
            'spec.template.spec.containers',
            true,
          ),
        );
      }
      if (old && JSON.stringify(getPath(old, ['spec', 'selector'])) !== JSON.stringify(selector)) {
        errors.push(fieldErr.invalid('spec.selector', selector, 'field is immutable'));
      }
      return errors;
    },
  };
}

const deploymentPrinter: Printer = {
  columns: [
    nameColumn,
    column('Ready', 'string', 'Number of the pod with ready state'),
    column(
      'Up-to-date',
      'string',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    column(
      'Available',
      'string',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    column(
      'Age',
      'string',
      'CreationTimestamp is a timestamp representing the server time when this object was created.',
    ),
  ],
  cells: (d, now) => [
    d.metadata.name ?? '',
    `${num(getPath(d, ['status', 'readyReplicas']))}/${num(getPath(d, ['spec', 'replicas']))}`,
    num(getPath(d, ['status', 'updatedReplicas'])),
    num(getPath(d, ['status', 'availableReplicas'])),
    age(d.metadata.creationTimestamp, now),
  ],
};

const serviceAccountPrinter: Printer = {
  columns: [
    nameColumn,
    column(
      'Secrets',
      'integer',
      'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
    ),
    column('Age', 'string', ''),
  ],
  cells: (sa, now) => [
    sa.metadata.name ?? '',
    Array.isArray(sa.secrets) ? sa.secrets.length : 0,
    age(sa.metadata.creationTimestamp, now),
  ],
};

/** The stored-only kinds, in discovery order after the core ones. */
export function storedKinds(): ResourceType[] {
  const apps = (
    plural: string,
    kind: string,
    schema: ResourceType['schema'],
    shortNames: string[],
  ): ResourceType =>
    builtin({
      group: 'apps',
      version: 'v1',
      plural,
      kind,
      namespaced: true,
      schema,
      shortNames,
      categories: ['all'],
      subresources: ['status'],
      tracksGeneration: true,
      returnsDeletedObject: kind !== 'Deployment',
      printer: kind === 'Deployment' ? deploymentPrinter : defaultPrinter,
      hooks: workloadHooks(kind),
    });
  const rbac = (
    plural: string,
    kind: string,
    schema: ResourceType['schema'],
    namespaced: boolean,
  ): ResourceType =>
    builtin({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural,
      kind,
      namespaced,
      schema,
      printer: defaultPrinter,
    });
  return [
    builtin({
      group: '',
      version: 'v1',
      plural: 'serviceaccounts',
      kind: 'ServiceAccount',
      namespaced: true,
      schema: serviceAccountSchema,
      shortNames: ['sa'],
      printer: serviceAccountPrinter,
      returnsDeletedObject: true,
    }),
    apps('deployments', 'Deployment', deploymentSchema, ['deploy']),
    apps('statefulsets', 'StatefulSet', statefulSetSchema, ['sts']),
    apps('daemonsets', 'DaemonSet', daemonSetSchema, ['ds']),
    apps('replicasets', 'ReplicaSet', replicaSetSchema, ['rs']),
    rbac('roles', 'Role', roleSchema, true),
    rbac('rolebindings', 'RoleBinding', roleBindingSchema, true),
    rbac('clusterroles', 'ClusterRole', clusterRoleSchema, false),
    rbac('clusterrolebindings', 'ClusterRoleBinding', clusterRoleBindingSchema, false),
    builtin({
      group: 'policy',
      version: 'v1',
      plural: 'poddisruptionbudgets',
      kind: 'PodDisruptionBudget',
      namespaced: true,
      schema: podDisruptionBudgetSchema,
      shortNames: ['pdb'],
      subresources: ['status'],
      tracksGeneration: true,
      printer: defaultPrinter,
    }),
    builtin({
      group: 'autoscaling',
      version: 'v2',
      plural: 'horizontalpodautoscalers',
      kind: 'HorizontalPodAutoscaler',
      namespaced: true,
      schema: horizontalPodAutoscalerSchema,
      shortNames: ['hpa'],
      categories: ['all'],
      subresources: ['status'],
      printer: defaultPrinter,
    }),
    builtin({
      group: 'networking.k8s.io',
      version: 'v1',
      plural: 'networkpolicies',
      kind: 'NetworkPolicy',
      namespaced: true,
      schema: networkPolicySchema,
      shortNames: ['netpol'],
      tracksGeneration: true,
      printer: defaultPrinter,
    }),
    builtin({
      group: 'networking.k8s.io',
      version: 'v1',
      plural: 'ingresses',
      kind: 'Ingress',
      namespaced: true,
      schema: ingressSchema,
      shortNames: ['ing'],
      subresources: ['status'],
      tracksGeneration: true,
      printer: defaultPrinter,
    }),
  ];
}
