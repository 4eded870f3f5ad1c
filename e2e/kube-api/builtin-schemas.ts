// Schemas of the built-in kinds the emulator serves. They are smaller than the real
// OpenAPI documents: every field the operator, its tests and kubectl touch is declared with
// its type and merge semantics; deep parts we never read (probes, affinity, security
// contexts…) are `x-kubernetes-preserve-unknown-fields`, so unknown fields there are kept
// rather than reported. They serve OpenAPI v3, pruning, strict field validation and patches.
import type { Schema } from './schema.ts';
import { TIME_EXTENSION } from './times.ts';

const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const int32: Schema = { type: 'integer', format: 'int32' };
const int64: Schema = { type: 'integer', format: 'int64' };
const time: Schema = { type: 'string', format: 'date-time', [TIME_EXTENSION]: 'Time' };
const microTime: Schema = { type: 'string', format: 'date-time', [TIME_EXTENSION]: 'MicroTime' };
const intOrString: Schema = { 'x-kubernetes-int-or-string': true };
const anyObject: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const quantity: Schema = { 'x-kubernetes-int-or-string': true };

function obj(properties: Record<string, Schema>, extra: Schema = {}): Schema {
  return { type: 'object', properties, ...extra };
}

function arr(items: Schema, extra: Schema = {}): Schema {
  return { type: 'array', items, ...extra };
}

function mapOf(values: Schema): Schema {
  return { type: 'object', additionalProperties: values };
}

/** A list merged by key: strategic merge key and server-side apply list-map keys. */
function keyedList(
  items: Schema,
  mergeKey: string,
  mapKeys: string[] = [mergeKey],
  strategy = 'merge',
): Schema {
  return {
    type: 'array',
    items,
    'x-kubernetes-patch-strategy': strategy,
    'x-kubernetes-patch-merge-key': mergeKey,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': mapKeys,
  };
}

export const ownerReferenceSchema: Schema = obj(
  {
    apiVersion: str,
    kind: str,
    name: str,
    uid: str,
    controller: bool,
    blockOwnerDeletion: bool,
  },
  { required: ['apiVersion', 'kind', 'name', 'uid'], 'x-kubernetes-map-type': 'atomic' },
);

export const objectMetaSchema: Schema = obj({
  name: str,
  generateName: str,
  namespace: str,
  selfLink: str,
  uid: str,
  resourceVersion: str,
  generation: int64,
  creationTimestamp: time,
  deletionTimestamp: time,
  deletionGracePeriodSeconds: int64,
  labels: mapOf(str),
  annotations: mapOf(str),
  ownerReferences: keyedList(ownerReferenceSchema, 'uid'),
  finalizers: arr(str, { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' }),
  managedFields: arr(anyObject, { 'x-kubernetes-list-type': 'atomic' }),
});

function resource(kind: string, body: Record<string, Schema>, required: string[] = []): Schema {
  const schema = obj({ apiVersion: str, kind: str, metadata: objectMetaSchema, ...body });
  if (required.length > 0) schema.required = required;
  schema.description = `${kind} (schema served by the kube-api emulator; see e2e/kube-api).`;
  return schema;
}

const condition: Schema = obj({
  type: str,
  status: str,
  observedGeneration: int64,
  lastProbeTime: time,
  lastTransitionTime: time,
  reason: str,
  message: str,
});

const objectReference: Schema = obj(
  {
    apiVersion: str,
    kind: str,
    namespace: str,
    name: str,
    uid: str,
    resourceVersion: str,
    fieldPath: str,
  },
  { 'x-kubernetes-map-type': 'atomic' },
);

const containerPort: Schema = obj(
  {
    name: str,
    hostPort: int32,
    containerPort: int32,
    protocol: { type: 'string', default: 'TCP' },
    hostIP: str,
  },
  { required: ['containerPort'] },
);

const envVar: Schema = obj({ name: str, value: str, valueFrom: anyObject }, { required: ['name'] });

const volumeMount: Schema = obj(
  {
    name: str,
    readOnly: bool,
    recursiveReadOnly: str,
    mountPath: str,
    subPath: str,
    mountPropagation: str,
    subPathExpr: str,
  },
  { required: ['name', 'mountPath'] },
);

const container: Schema = obj(
  {
    name: str,
    image: str,
    command: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    args: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    workingDir: str,
    ports: keyedList(containerPort, 'containerPort', ['containerPort', 'protocol']),
    envFrom: arr(anyObject, { 'x-kubernetes-list-type': 'atomic' }),
    env: keyedList(envVar, 'name'),
    resources: obj({ limits: mapOf(quantity), requests: mapOf(quantity), claims: arr(anyObject) }),
    resizePolicy: arr(anyObject, { 'x-kubernetes-list-type': 'atomic' }),
    restartPolicy: str,
    volumeMounts: keyedList(volumeMount, 'mountPath'),
    volumeDevices: keyedList(anyObject, 'devicePath'),
    livenessProbe: anyObject,
    readinessProbe: anyObject,
    startupProbe: anyObject,
    lifecycle: anyObject,
    terminationMessagePath: str,
    terminationMessagePolicy: str,
    imagePullPolicy: str,
    securityContext: anyObject,
    stdin: bool,
    stdinOnce: bool,
    tty: bool,
  },
  { required: ['name'] },
);

const podSpec: Schema = obj(
  {
    volumes: keyedList(
      obj({ name: str }, { 'x-kubernetes-preserve-unknown-fields': true, required: ['name'] }),
      'name',
      ['name'],
      'merge,retainKeys',
    ),
    initContainers: keyedList(container, 'name'),
    containers: keyedList(container, 'name'),
    ephemeralContainers: keyedList(anyObject, 'name'),
    restartPolicy: str,
    terminationGracePeriodSeconds: int64,
    activeDeadlineSeconds: int64,
    dnsPolicy: str,
    nodeSelector: mapOf(str),
    serviceAccountName: str,
    serviceAccount: str,
    automountServiceAccountToken: bool,
    nodeName: str,
    hostNetwork: bool,
    hostPID: bool,
    hostIPC: bool,
    shareProcessNamespace: bool,
    securityContext: anyObject,
    imagePullSecrets: keyedList(obj({ name: str }), 'name'),
    hostname: str,
    subdomain: str,
    affinity: anyObject,
    schedulerName: str,
    tolerations: arr(anyObject, { 'x-kubernetes-list-type': 'atomic' }),
    hostAliases: keyedList(anyObject, 'ip'),
    priorityClassName: str,
    priority: int32,
    dnsConfig: anyObject,
    readinessGates: arr(obj({ conditionType: str }), { 'x-kubernetes-list-type': 'atomic' }),
    runtimeClassName: str,
    enableServiceLinks: bool,
    preemptionPolicy: str,
    overhead: mapOf(quantity),
    topologySpreadConstraints: arr(anyObject, { 'x-kubernetes-list-type': 'atomic' }),
    setHostnameAsFQDN: bool,
    os: anyObject,
    hostUsers: bool,
    schedulingGates: keyedList(obj({ name: str }), 'name'),
    resourceClaims: keyedList(anyObject, 'name'),
    resources: anyObject,
  },
  { required: ['containers'] },
);

const containerStatus: Schema = obj({
  name: str,
  state: anyObject,
  lastState: anyObject,
  ready: bool,
  restartCount: int32,
  image: str,
  imageID: str,
  containerID: str,
  started: bool,
  allocatedResources: mapOf(quantity),
  resources: anyObject,
  volumeMounts: arr(anyObject),
  user: anyObject,
  allocatedResourcesStatus: arr(anyObject),
  stopSignal: str,
});

const podStatus: Schema = obj({
  observedGeneration: int64,
  phase: str,
  conditions: keyedList(condition, 'type'),
  message: str,
  reason: str,
  nominatedNodeName: str,
  hostIP: str,
  hostIPs: keyedList(obj({ ip: str }), 'ip'),
  podIP: str,
  podIPs: keyedList(obj({ ip: str }), 'ip'),
  startTime: time,
  initContainerStatuses: arr(containerStatus, { 'x-kubernetes-list-type': 'atomic' }),
  containerStatuses: arr(containerStatus, { 'x-kubernetes-list-type': 'atomic' }),
  qosClass: str,
  ephemeralContainerStatuses: arr(containerStatus, { 'x-kubernetes-list-type': 'atomic' }),
  resize: str,
  resourceClaimStatuses: arr(anyObject),
});

export const podSchema = resource('Pod', { spec: podSpec, status: podStatus });

const servicePort: Schema = obj(
  {
    name: str,
    protocol: { type: 'string', default: 'TCP' },
    appProtocol: str,
    port: int32,
    targetPort: intOrString,
    nodePort: int32,
  },
  { required: ['port'] },
);

export const serviceSchema = resource('Service', {
  spec: obj({
    ports: keyedList(servicePort, 'port', ['port', 'protocol']),
    selector: mapOf(str),
    clusterIP: str,
    clusterIPs: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    type: str,
    externalIPs: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    sessionAffinity: str,
    loadBalancerIP: str,
    loadBalancerSourceRanges: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    externalName: str,
    externalTrafficPolicy: str,
    healthCheckNodePort: int32,
    publishNotReadyAddresses: bool,
    sessionAffinityConfig: anyObject,
    ipFamilies: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    ipFamilyPolicy: str,
    allocateLoadBalancerNodePorts: bool,
    loadBalancerClass: str,
    internalTrafficPolicy: str,
    trafficDistribution: str,
  }),
  status: obj({ loadBalancer: anyObject, conditions: keyedList(condition, 'type') }),
});

const endpointAddress: Schema = obj({ ip: str, hostname: str, nodeName: str, targetRef: objectReference });
const endpointPort: Schema = obj({ name: str, port: int32, protocol: str, appProtocol: str });

export const endpointsSchema = resource('Endpoints', {
  subsets: arr(
    obj({
      addresses: arr(endpointAddress, { 'x-kubernetes-list-type': 'atomic' }),
      notReadyAddresses: arr(endpointAddress, { 'x-kubernetes-list-type': 'atomic' }),
      ports: arr(endpointPort, { 'x-kubernetes-list-type': 'atomic' }),
    }),
    { 'x-kubernetes-list-type': 'atomic' },
  ),
});

export const endpointSliceSchema = resource(
  'EndpointSlice',
  {
    addressType: str,
    endpoints: arr(
      obj(
        {
          addresses: arr(str, { 'x-kubernetes-list-type': 'set' }),
          conditions: obj({ ready: bool, serving: bool, terminating: bool }),
          hostname: str,
          targetRef: objectReference,
          deprecatedTopology: mapOf(str),
          nodeName: str,
          zone: str,
          hints: anyObject,
        },
        { required: ['addresses'] },
      ),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    ports: arr(obj({ name: str, protocol: str, port: int32, appProtocol: str }), {
      'x-kubernetes-list-type': 'atomic',
    }),
  },
  ['addressType', 'endpoints'],
);

export const configMapSchema = resource('ConfigMap', {
  immutable: bool,
  data: mapOf(str),
  binaryData: mapOf({ type: 'string', format: 'byte' }),
});

export const secretSchema = resource('Secret', {
  immutable: bool,
  data: mapOf({ type: 'string', format: 'byte' }),
  stringData: mapOf(str),
  type: str,
});

export const namespaceSchema = resource('Namespace', {
  spec: obj({ finalizers: arr(str, { 'x-kubernetes-list-type': 'atomic' }) }),
  status: obj({ phase: str, conditions: keyedList(condition, 'type') }),
});

export const leaseSchema = resource('Lease', {
  spec: obj({
    holderIdentity: str,
    leaseDurationSeconds: int32,
    acquireTime: microTime,
    renewTime: microTime,
    leaseTransitions: int32,
    strategy: str,
    preferredHolder: str,
  }),
});

const eventSeries: Schema = obj({ count: int32, lastObservedTime: microTime });
const eventSource: Schema = obj({ component: str, host: str });

export const coreEventSchema = resource(
  'Event',
  {
    involvedObject: objectReference,
    reason: str,
    message: str,
    source: eventSource,
    firstTimestamp: time,
    lastTimestamp: time,
    count: int32,
    type: str,
    eventTime: microTime,
    series: eventSeries,
    action: str,
    related: objectReference,
    reportingComponent: str,
    reportingInstance: str,
  },
  ['metadata', 'involvedObject'],
);

export const eventsV1EventSchema = resource(
  'Event',
  {
    eventTime: microTime,
    series: eventSeries,
    reportingController: str,
    reportingInstance: str,
    action: str,
    reason: str,
    regarding: objectReference,
    related: objectReference,
    note: str,
    type: str,
    deprecatedSource: eventSource,
    deprecatedFirstTimestamp: time,
    deprecatedLastTimestamp: time,
    deprecatedCount: int32,
  },
  ['eventTime'],
);

const printerColumn: Schema = obj(
  { name: str, type: str, format: str, description: str, priority: int32, jsonPath: str },
  { required: ['name', 'type', 'jsonPath'] },
);

export const crdSchema = resource(
  'CustomResourceDefinition',
  {
    spec: obj(
      {
        group: str,
        names: obj({
          plural: str,
          singular: str,
          shortNames: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
          kind: str,
          listKind: str,
          categories: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
        }),
        scope: str,
        versions: arr(
          obj(
            {
              name: str,
              served: bool,
              storage: bool,
              deprecated: bool,
              deprecationWarning: str,
              schema: obj({ openAPIV3Schema: anyObject }),
              subresources: obj({ status: anyObject, scale: anyObject }),
              additionalPrinterColumns: arr(printerColumn, { 'x-kubernetes-list-type': 'atomic' }),
              selectableFields: arr(obj({ jsonPath: str }), { 'x-kubernetes-list-type': 'atomic' }),
            },
            { required: ['name', 'served', 'storage'] },
          ),
          { 'x-kubernetes-list-type': 'atomic' },
        ),
        conversion: anyObject,
        preserveUnknownFields: bool,
      },
      { required: ['group', 'names', 'scope', 'versions'] },
    ),
    status: obj({
      conditions: keyedList(condition, 'type'),
      acceptedNames: anyObject,
      storedVersions: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    }),
  },
  ['spec'],
);

export const statusSchema: Schema = obj({
  apiVersion: str,
  kind: str,
  metadata: anyObject,
  status: str,
  message: str,
  reason: str,
  details: anyObject,
  code: int32,
});

// ---- kinds stored without controllers (charts install them; see stored-kinds.ts) ----

const labelSelector: Schema = obj(
  {
    matchLabels: mapOf(str),
    matchExpressions: arr(
      obj({ key: str, operator: str, values: arr(str, { 'x-kubernetes-list-type': 'atomic' }) }),
      {
        'x-kubernetes-list-type': 'atomic',
      },
    ),
  },
  { 'x-kubernetes-map-type': 'atomic' },
);

const podTemplate: Schema = obj({ metadata: objectMetaSchema, spec: podSpec });

function workload(
  kind: string,
  extra: Record<string, Schema>,
  required: string[] = ['selector', 'template'],
): Schema {
  return resource(kind, {
    spec: obj(
      {
        replicas: int32,
        selector: labelSelector,
        template: podTemplate,
        minReadySeconds: int32,
        revisionHistoryLimit: int32,
        ...extra,
      },
      { required },
    ),
    status: anyObject,
  });
}

export const deploymentSchema = workload('Deployment', {
  strategy: anyObject,
  paused: bool,
  progressDeadlineSeconds: int32,
});
export const statefulSetSchema = workload('StatefulSet', {
  serviceName: str,
  podManagementPolicy: str,
  updateStrategy: anyObject,
  volumeClaimTemplates: arr(anyObject, { 'x-kubernetes-list-type': 'atomic' }),
  persistentVolumeClaimRetentionPolicy: anyObject,
  ordinals: anyObject,
});
export const daemonSetSchema = workload('DaemonSet', { updateStrategy: anyObject });
export const replicaSetSchema = workload('ReplicaSet', {}, ['selector']);

export const serviceAccountSchema = resource('ServiceAccount', {
  secrets: keyedList(objectReference, 'name'),
  imagePullSecrets: arr(obj({ name: str }), { 'x-kubernetes-list-type': 'atomic' }),
  automountServiceAccountToken: bool,
});

const policyRule: Schema = obj(
  {
    verbs: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    apiGroups: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    resources: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    resourceNames: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
    nonResourceURLs: arr(str, { 'x-kubernetes-list-type': 'atomic' }),
  },
  { required: ['verbs'] },
);
const roleRef: Schema = obj(
  { apiGroup: str, kind: str, name: str },
  { required: ['apiGroup', 'kind', 'name'], 'x-kubernetes-map-type': 'atomic' },
);
const subject: Schema = obj(
  { kind: str, apiGroup: str, name: str, namespace: str },
  { required: ['kind', 'name'], 'x-kubernetes-map-type': 'atomic' },
);

export const roleSchema = resource('Role', {
  rules: arr(policyRule, { 'x-kubernetes-list-type': 'atomic' }),
});
export const clusterRoleSchema = resource('ClusterRole', {
  rules: arr(policyRule, { 'x-kubernetes-list-type': 'atomic' }),
  aggregationRule: anyObject,
});
export const roleBindingSchema = resource(
  'RoleBinding',
  { subjects: arr(subject, { 'x-kubernetes-list-type': 'atomic' }), roleRef },
  ['roleRef'],
);
export const clusterRoleBindingSchema = resource(
  'ClusterRoleBinding',
  { subjects: arr(subject, { 'x-kubernetes-list-type': 'atomic' }), roleRef },
  ['roleRef'],
);

export const podDisruptionBudgetSchema = resource('PodDisruptionBudget', {
  spec: obj({
    minAvailable: intOrString,
    maxUnavailable: intOrString,
    selector: labelSelector,
    unhealthyPodEvictionPolicy: str,
  }),
  status: anyObject,
});
export const horizontalPodAutoscalerSchema = resource('HorizontalPodAutoscaler', {
  spec: obj(
    {
      scaleTargetRef: obj({ apiVersion: str, kind: str, name: str }),
      minReplicas: int32,
      maxReplicas: int32,
      metrics: arr(anyObject, { 'x-kubernetes-list-type': 'atomic' }),
      behavior: anyObject,
    },
    { required: ['scaleTargetRef', 'maxReplicas'] },
  ),
  status: anyObject,
});
export const networkPolicySchema = resource('NetworkPolicy', { spec: anyObject });
export const ingressSchema = resource('Ingress', { spec: anyObject, status: anyObject });
