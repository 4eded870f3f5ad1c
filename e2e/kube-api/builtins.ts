// The built-in kinds: core/v1 namespaces, pods, services, endpoints, configmaps, secrets
// and events; events.k8s.io/v1 events (the same objects as core events, another shape);
// discovery.k8s.io/v1 EndpointSlices; coordination.k8s.io/v1 Leases. Each carries the
// defaults, resets and validation of its apiserver registry strategy that tests can observe.
import {
  configMapSchema,
  coreEventSchema,
  endpointSliceSchema,
  endpointsSchema,
  eventsV1EventSchema,
  leaseSchema,
  namespaceSchema,
  podSchema,
  secretSchema,
  serviceSchema,
} from './builtin-schemas.ts';
import { fieldErr, forbidden } from './errors.ts';
import type { FieldError } from './errors.ts';
import { deepEqual, ensureObject, getPath, isObject, text } from './json.ts';
import type { JsonObject } from './json.ts';
import type { KubeObject } from './meta.ts';
import { qualifiedNameProblems } from './meta.ts';
import {
  configMapPrinter,
  endpointSlicePrinter,
  endpointsPrinter,
  eventPrinter,
  leasePrinter,
  namespacePrinter,
  podPrinter,
  secretPrinter,
  servicePrinter,
} from './printers.ts';
import { ALL_VERBS } from './resources.ts';
import type { Hooks, Printer, ResourceType } from './resources.ts';
import type { Schema } from './schema.ts';

/** Cluster-wide allocators some strategies need (service IPs and node ports). */
export interface BuiltinContext {
  allocateClusterIP(): string;
  allocateNodePort(): number;
}

export interface BuiltinSpec {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  schema: Schema;
  printer: Printer;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  subresources?: string[];
  storage?: string;
  nameRule?: ResourceType['nameRule'];
  returnsDeletedObject?: boolean;
  tracksGeneration?: boolean;
  allowCreateOnUpdate?: boolean;
  fieldLabels?: ResourceType['fieldLabels'];
  hooks?: Hooks;
}

/** A built-in resource type with the defaults most kinds share. */
export function builtin(s: BuiltinSpec): ResourceType {
  return {
    group: s.group,
    version: s.version,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    kind: s.kind,
    listKind: `${s.kind}List`,
    namespaced: s.namespaced,
    shortNames: s.shortNames ?? [],
    categories: s.categories ?? [],
    verbs: s.verbs ?? ALL_VERBS,
    subresources: s.subresources ?? [],
    storage: s.storage ?? `${s.group || 'core'}/${s.plural}`,
    schema: s.schema,
    schemaIsValidation: false,
    nameRule: s.nameRule ?? 'subdomain',
    tracksGeneration: s.tracksGeneration ?? false,
    returnsDeletedObject: s.returnsDeletedObject ?? false,
    allowCreateOnUpdate: s.allowCreateOnUpdate ?? false,
    allowUnconditionalUpdate: true,
    strategicMerge: true,
    fieldLabels: s.fieldLabels ?? {},
    printer: s.printer,
    hooks: s.hooks ?? {},
  };
}

const field = (path: string[]) => (obj: KubeObject) => text(getPath(obj, path));

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

// ---- pods ----

function defaultContainer(c: unknown): void {
  if (!isObject(c)) return;
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const lastSegment = c.image.split('/').at(-1) ?? '';
    const tag = lastSegment.includes('@') ? 'digest' : (lastSegment.split(':')[1] ?? 'latest');
    c.imagePullPolicy = tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of arrayOf(c.ports)) if (isObject(p)) p.protocol ??= 'TCP';
}

/** The defaults the apiserver gives a pod spec (also inside workload templates). */
export function defaultPodSpec(spec: JsonObject): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.serviceAccountName ??= typeof spec.serviceAccount === 'string' ? spec.serviceAccount : 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.priority ??= 0;
  for (const c of [...arrayOf(spec.containers), ...arrayOf(spec.initContainers)]) defaultContainer(c);
}

function qosClass(spec: JsonObject): string {
  let any = false;
  let guaranteed = true;
  for (const c of arrayOf(spec.containers)) {
    const resources = isObject(c) && isObject(c.resources) ? c.resources : {};
    const limits = isObject(resources.limits) ? resources.limits : {};
    const requests = isObject(resources.requests) ? resources.requests : {};
    if (Object.keys(limits).length > 0 || Object.keys(requests).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      if (limits[r] === undefined || (requests[r] !== undefined && text(requests[r]) !== text(limits[r])))
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function validateContainers(list: unknown, path: string, required: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const containers = arrayOf(list);
  if (required && containers.length === 0) errors.push(fieldErr.required(path, ''));
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(c)) return;
    if (typeof c.name !== 'string' || c.name === '') errors.push(fieldErr.required(`${at}.name`, ''));
    else if (names.has(c.name)) errors.push(fieldErr.duplicate(`${at}.name`, c.name));
    else names.add(c.name);
    if (typeof c.image !== 'string' || c.image === '') errors.push(fieldErr.required(`${at}.image`, ''));
  });
  return errors;
}

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function podSpecMutableCopy(spec: unknown, from: unknown): unknown {
  // Overlay the fields a pod update may change, so what remains must be equal.
  if (!isObject(spec) || !isObject(from)) return spec;
  const out: JsonObject = structuredClone(spec);
  for (const key of ['containers', 'initContainers'] as const) {
    const mine = arrayOf(out[key]);
    const theirs = arrayOf(from[key]);
    mine.forEach((c, i) => {
      const other = theirs[i];
      if (isObject(c) && isObject(other)) c.image = other.image;
    });
  }
  out.activeDeadlineSeconds = from.activeDeadlineSeconds;
  out.tolerations = from.tolerations;
  return out;
}

const podHooks: Hooks = {
  prepareForCreate(pod) {
    const spec = ensureObject(pod, 'spec');
    defaultPodSpec(spec);
    pod.status = { phase: 'Pending', qosClass: qosClass(spec) };
  },
  prepareForUpdate(pod) {
    defaultPodSpec(ensureObject(pod, 'spec'));
  },
  validate(pod, old) {
    const spec = isObject(pod.spec) ? pod.spec : {};
    const errors = [
      ...validateContainers(spec.containers, 'spec.containers', true),
      ...validateContainers(spec.initContainers, 'spec.initContainers', false),
    ];
    const restart = spec.restartPolicy;
    if (restart !== undefined && !['Always', 'OnFailure', 'Never'].includes(text(restart))) {
      errors.push(fieldErr.notSupported('spec.restartPolicy', restart, ['Always', 'OnFailure', 'Never']));
    }
    if (old && !deepEqual(podSpecMutableCopy(old.spec, pod.spec), pod.spec)) {
      errors.push(fieldErr.forbidden('spec', POD_UPDATE_FORBIDDEN));
    }
    return errors;
  },
};

// ---- services ----

function serviceHooks(ctx: BuiltinContext): Hooks {
  const defaults = (svc: KubeObject, old: KubeObject | undefined): void => {
    const spec = ensureObject(svc, 'spec');
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    const oldSpec = old && isObject(old.spec) ? old.spec : undefined;
    if (oldSpec) {
      spec.clusterIP ??= oldSpec.clusterIP;
      spec.clusterIPs ??= oldSpec.clusterIPs;
    }
    if (spec.type !== 'ExternalName') {
      if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = ctx.allocateClusterIP();
      spec.clusterIPs ??= [spec.clusterIP];
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
    }
    const needsNodePort = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
    if (needsNodePort) spec.externalTrafficPolicy ??= 'Cluster';
    const oldPorts = arrayOf(oldSpec?.ports);
    for (const p of arrayOf(spec.ports)) {
      if (!isObject(p)) continue;
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
      if (needsNodePort && p.nodePort === undefined) {
        const prior = oldPorts.find((o) => isObject(o) && o.port === p.port && o.protocol === p.protocol);
        p.nodePort =
          isObject(prior) && typeof prior.nodePort === 'number' ? prior.nodePort : ctx.allocateNodePort();
      }
    }
  };
  return {
    prepareForCreate: (svc) => {
      defaults(svc, undefined);
      svc.status = { loadBalancer: {} };
    },
    prepareForUpdate: (svc, old) => defaults(svc, old),
    validate(svc, old) {
      const errors: FieldError[] = [];
      const spec = isObject(svc.spec) ? svc.spec : {};
      const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
      if (!types.includes(text(spec.type))) errors.push(fieldErr.notSupported('spec.type', spec.type, types));
      const ports = arrayOf(spec.ports);
      if (ports.length === 0 && spec.type !== 'ExternalName' && spec.clusterIP !== 'None') {
        errors.push(fieldErr.required('spec.ports', ''));
      }
      ports.forEach((p, i) => {
        if (!isObject(p)) return;
        if (ports.length > 1 && (typeof p.name !== 'string' || p.name === ''))
          errors.push(fieldErr.required(`spec.ports[${i}].name`, ''));
        if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535) {
          errors.push(
            fieldErr.invalid(`spec.ports[${i}].port`, p.port, 'must be between 1 and 65535, inclusive'),
          );
        }
      });
      const oldIP = old && isObject(old.spec) ? old.spec.clusterIP : undefined;
      if (oldIP !== undefined && oldIP !== '' && spec.clusterIP !== oldIP) {
        errors.push(fieldErr.invalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set'));
      }
      return errors;
    },
  };
}

// ---- namespaces ----

const namespaceHooks: Hooks = {
  prepareForCreate(ns) {
    ns.spec = { finalizers: ['kubernetes'] };
    ns.status = { phase: 'Active' };
    ns.metadata.labels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name ?? '' };
  },
  beginDelete(ns) {
    const name = ns.metadata.name ?? '';
    if (['default', 'kube-system', 'kube-public'].includes(name)) {
      throw forbidden({ group: '', plural: 'namespaces' }, name, 'this namespace may not be deleted');
    }
    ns.status = { ...(isObject(ns.status) ? ns.status : {}), phase: 'Terminating' };
    const spec = isObject(ns.spec) ? ns.spec : {};
    return Array.isArray(spec.finalizers) && spec.finalizers.length > 0;
  },
  prepareForUpdate(ns, old) {
    ns.spec = old.spec;
    ns.metadata.labels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name ?? '' };
  },
};

// ---- configmaps and secrets ----

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function validateKeys(data: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!isObject(data)) return errors;
  for (const key of Object.keys(data)) {
    if (key.length > 253 || !CONFIG_KEY.test(key)) {
      errors.push(
        fieldErr.invalid(
          `${field}[${key}]`,
          key,
          "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ),
      );
    }
  }
  return errors;
}

function immutability(obj: KubeObject, old: KubeObject | undefined, fields: string[]): FieldError[] {
  if (!old || old.immutable !== true) return [];
  const errors: FieldError[] = [];
  if (obj.immutable !== true)
    errors.push(fieldErr.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields) {
    if (!deepEqual(obj[f] ?? {}, old[f] ?? {}))
      errors.push(fieldErr.forbidden(f, 'field is immutable when `immutable` is set'));
  }
  return errors;
}

const configMapHooks: Hooks = {
  validate(cm, old) {
    const errors = [...validateKeys(cm.data, 'data'), ...validateKeys(cm.binaryData, 'binaryData')];
    if (isObject(cm.data) && isObject(cm.binaryData)) {
      for (const key of Object.keys(cm.data)) {
        if (key in cm.binaryData)
          errors.push(fieldErr.invalid('data', key, 'duplicate of key present in binaryData'));
      }
    }
    return [...errors, ...immutability(cm, old, ['data', 'binaryData'])];
  },
};

function foldStringData(secret: KubeObject): void {
  // stringData is write-only: the apiserver merges it into data and never stores it.
  if (isObject(secret.stringData)) {
    const data = ensureObject(secret, 'data');
    for (const [k, v] of Object.entries(secret.stringData))
      data[k] = Buffer.from(String(v)).toString('base64');
  }
  delete secret.stringData;
  secret.type ??= 'Opaque';
}

const secretHooks: Hooks = {
  prepareForCreate: foldStringData,
  prepareForUpdate: foldStringData,
  validate(secret, old) {
    const errors = validateKeys(secret.data, 'data');
    if (secret.type === 'kubernetes.io/tls') {
      const data = isObject(secret.data) ? secret.data : {};
      for (const key of ['tls.crt', 'tls.key'])
        if (!(key in data)) errors.push(fieldErr.required(`data[${key}]`, ''));
    }
    if (old && old.type !== secret.type)
      errors.push(fieldErr.invalid('type', secret.type, 'field is immutable'));
    return [...errors, ...immutability(secret, old, ['data'])];
  },
};

// ---- leases ----

const leaseHooks: Hooks = {
  validate(lease) {
    const errors: FieldError[] = [];
    const spec = isObject(lease.spec) ? lease.spec : {};
    if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
      errors.push(
        fieldErr.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'),
      );
    }
    if (typeof spec.leaseTransitions === 'number' && spec.leaseTransitions < 0) {
      errors.push(
        fieldErr.invalid(
          'spec.leaseTransitions',
          spec.leaseTransitions,
          'must be greater than or equal to 0',
        ),
      );
    }
    return errors;
  },
};

// ---- events ----

const EVENT_FIELDS: [core: string, v1: string][] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['count', 'deprecatedCount'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['source', 'deprecatedSource'],
  ['reportingComponent', 'reportingController'],
];

function renameFields(obj: KubeObject, apiVersion: string, from: 0 | 1): KubeObject {
  const out: KubeObject = { ...obj, apiVersion };
  for (const pair of EVENT_FIELDS) {
    const src = pair[from];
    const dst = pair[from === 0 ? 1 : 0];
    delete out[src];
    if (obj[src] !== undefined) out[dst] = obj[src];
  }
  return out;
}

function validateCoreEvent(e: KubeObject, reportingField: string): FieldError[] {
  const errors: FieldError[] = [];
  const involved = isObject(e.involvedObject) ? e.involvedObject : {};
  const ns = e.metadata.namespace ?? '';
  const involvedNs = typeof involved.namespace === 'string' ? involved.namespace : '';
  if (!e.eventTime) {
    if (involvedNs === '' ? ns !== '' && ns !== 'default' : ns !== involvedNs) {
      errors.push(fieldErr.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
    return errors;
  }
  if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') {
    errors.push(fieldErr.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
  }
  const reporting = typeof e.reportingComponent === 'string' ? e.reportingComponent : '';
  if (!reporting) errors.push(fieldErr.required(reportingField, ''));
  else
    for (const p of qualifiedNameProblems(reporting))
      errors.push(fieldErr.invalid(reportingField, reporting, p));
  if (!e.reportingInstance) errors.push(fieldErr.required('reportingInstance', ''));
  if (!e.action) errors.push(fieldErr.required('action', ''));
  if (!e.reason) errors.push(fieldErr.required('reason', ''));
  if (typeof e.message === 'string' && e.message.length > 1024) {
    errors.push(
      fieldErr.invalid(
        reportingField === 'reportingComponent' ? 'message' : 'note',
        '',
        'can have at most 1024 characters',
      ),
    );
  }
  return errors;
}

const coreEventHooks: Hooks = {
  validate: (e) => validateCoreEvent(e, 'reportingComponent'),
};

const eventsV1Hooks: Hooks = {
  toStorage: (e) => renameFields(e, 'v1', 1),
  fromStorage: (e) => renameFields(e, 'events.k8s.io/v1', 0),
  validate(e) {
    const errors = validateCoreEvent(renameFields(e, 'v1', 1), 'reportingController');
    if (!e.eventTime) errors.unshift(fieldErr.required('eventTime', ''));
    if (e.type !== 'Normal' && e.type !== 'Warning')
      errors.push(fieldErr.notSupported('type', e.type ?? '', ['Normal', 'Warning']));
    return errors;
  },
};

const coreEventLabels: ResourceType['fieldLabels'] = {
  'involvedObject.kind': field(['involvedObject', 'kind']),
  'involvedObject.namespace': field(['involvedObject', 'namespace']),
  'involvedObject.name': field(['involvedObject', 'name']),
  'involvedObject.uid': field(['involvedObject', 'uid']),
  'involvedObject.apiVersion': field(['involvedObject', 'apiVersion']),
  'involvedObject.resourceVersion': field(['involvedObject', 'resourceVersion']),
  'involvedObject.fieldPath': field(['involvedObject', 'fieldPath']),
  reason: field(['reason']),
  reportingComponent: field(['reportingComponent']),
  source: field(['source', 'component']),
  type: field(['type']),
};

const eventsV1Labels: ResourceType['fieldLabels'] = {
  'regarding.kind': field(['regarding', 'kind']),
  'regarding.namespace': field(['regarding', 'namespace']),
  'regarding.name': field(['regarding', 'name']),
  'regarding.uid': field(['regarding', 'uid']),
  'regarding.apiVersion': field(['regarding', 'apiVersion']),
  'regarding.resourceVersion': field(['regarding', 'resourceVersion']),
  'regarding.fieldPath': field(['regarding', 'fieldPath']),
  reason: field(['reason']),
  reportingController: field(['reportingController']),
  'deprecatedSource.component': field(['deprecatedSource', 'component']),
  type: field(['type']),
};

const eventsV1Printer: Printer = {
  columns: eventPrinter.columns,
  cells: (e, now) => eventPrinter.cells(renameFields(e, 'v1', 1), now),
};

// ---- endpoint slices ----

const endpointSliceHooks: Hooks = {
  validate(es, old) {
    const errors: FieldError[] = [];
    const types = ['IPv4', 'IPv6', 'FQDN'];
    if (!types.includes(text(es.addressType)))
      errors.push(fieldErr.notSupported('addressType', es.addressType, types));
    arrayOf(es.endpoints).forEach((e, i) => {
      const n = isObject(e) ? arrayOf(e.addresses).length : 0;
      if (n === 0)
        errors.push(fieldErr.required(`endpoints[${i}].addresses`, 'must contain at least 1 address'));
      if (n > 100) errors.push(fieldErr.tooMany(`endpoints[${i}].addresses`, n, 100));
    });
    if (old && old.addressType !== es.addressType)
      errors.push(fieldErr.invalid('addressType', es.addressType, 'field is immutable'));
    return errors;
  },
};

/** All built-in resource types except CRDs (see crd.ts), in discovery order. */
export function builtinTypes(ctx: BuiltinContext): ResourceType[] {
  return [
    builtin({
      group: '',
      version: 'v1',
      plural: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      schema: namespaceSchema,
      printer: namespacePrinter,
      shortNames: ['ns'],
      subresources: ['status', 'finalize'],
      nameRule: 'label',
      returnsDeletedObject: true,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      fieldLabels: { 'status.phase': field(['status', 'phase']) },
      hooks: namespaceHooks,
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'pods',
      kind: 'Pod',
      namespaced: true,
      schema: podSchema,
      printer: podPrinter,
      shortNames: ['po'],
      categories: ['all'],
      subresources: ['status'],
      returnsDeletedObject: true,
      hooks: podHooks,
      fieldLabels: {
        'spec.nodeName': field(['spec', 'nodeName']),
        'spec.restartPolicy': field(['spec', 'restartPolicy']),
        'spec.schedulerName': field(['spec', 'schedulerName']),
        'spec.serviceAccountName': field(['spec', 'serviceAccountName']),
        'spec.hostNetwork': (p) => String(getPath(p, ['spec', 'hostNetwork']) === true),
        'status.phase': field(['status', 'phase']),
        'status.podIP': field(['status', 'podIP']),
        'status.nominatedNodeName': field(['status', 'nominatedNodeName']),
      },
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'services',
      kind: 'Service',
      namespaced: true,
      schema: serviceSchema,
      printer: servicePrinter,
      shortNames: ['svc'],
      categories: ['all'],
      subresources: ['status'],
      nameRule: 'dns1035',
      returnsDeletedObject: true,
      hooks: serviceHooks(ctx),
      fieldLabels: { 'spec.clusterIP': field(['spec', 'clusterIP']), 'spec.type': field(['spec', 'type']) },
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'endpoints',
      kind: 'Endpoints',
      namespaced: true,
      schema: endpointsSchema,
      printer: endpointsPrinter,
      shortNames: ['ep'],
      allowCreateOnUpdate: true,
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'configmaps',
      kind: 'ConfigMap',
      namespaced: true,
      schema: configMapSchema,
      printer: configMapPrinter,
      shortNames: ['cm'],
      hooks: configMapHooks,
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'secrets',
      kind: 'Secret',
      namespaced: true,
      schema: secretSchema,
      printer: secretPrinter,
      hooks: secretHooks,
      fieldLabels: { type: field(['type']) },
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'events',
      kind: 'Event',
      namespaced: true,
      schema: coreEventSchema,
      printer: eventPrinter,
      shortNames: ['ev'],
      storage: 'core/events',
      allowCreateOnUpdate: true,
      fieldLabels: coreEventLabels,
      hooks: coreEventHooks,
    }),
    builtin({
      group: 'events.k8s.io',
      version: 'v1',
      plural: 'events',
      kind: 'Event',
      namespaced: true,
      schema: eventsV1EventSchema,
      printer: eventsV1Printer,
      shortNames: ['ev'],
      storage: 'core/events',
      allowCreateOnUpdate: true,
      fieldLabels: eventsV1Labels,
      hooks: eventsV1Hooks,
    }),
    builtin({
      group: 'discovery.k8s.io',
      version: 'v1',
      plural: 'endpointslices',
      kind: 'EndpointSlice',
      namespaced: true,
      schema: endpointSliceSchema,
      printer: endpointSlicePrinter,
      hooks: endpointSliceHooks,
    }),
    builtin({
      group: 'coordination.k8s.io',
      version: 'v1',
      plural: 'leases',
      kind: 'Lease',
      namespaced: true,
      schema: leaseSchema,
      printer: leasePrinter,
      hooks: leaseHooks,
    }),
  ];
}
