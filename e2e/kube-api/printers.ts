// Server-side printers of the built-in kinds, the columns `kubectl get` shows for them
// (k8s.io/kubernetes/pkg/printers/internalversion), reduced to the fields the emulator keeps.
import { getPath, isObject, text } from './json.ts';
import type { KubeObject } from './meta.ts';
import type { Printer } from './resources.ts';
import { age, column, mapSummary, nameColumn } from './table.ts';

function ageColumn() {
  return column(
    'Age',
    'string',
    'CreationTimestamp is a timestamp representing the server time when this object was created.',
  );
}

function str(value: unknown, fallback = '<none>'): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function podStatusCells(pod: KubeObject): { ready: string; status: string; restarts: number } {
  const containers = list(getPath(pod, ['spec', 'containers']));
  let reason =
    str(getPath(pod, ['status', 'reason']), '') || str(getPath(pod, ['status', 'phase']), 'Pending');
  let readyCount = 0;
  let restarts = 0;
  let hasRunning = false;
  const statuses = list(getPath(pod, ['status', 'containerStatuses']));
  for (const cs of [...statuses].reverse()) {
    if (!isObject(cs)) continue;
    restarts += typeof cs.restartCount === 'number' ? cs.restartCount : 0;
    const state = isObject(cs.state) ? cs.state : {};
    const waiting = isObject(state.waiting) ? state.waiting : undefined;
    const terminated = isObject(state.terminated) ? state.terminated : undefined;
    if (waiting && typeof waiting.reason === 'string' && waiting.reason) reason = waiting.reason;
    else if (terminated && typeof terminated.reason === 'string' && terminated.reason)
      reason = terminated.reason;
    else if (terminated) reason = `ExitCode:${text(terminated.exitCode ?? 0)}`;
    else if (cs.ready === true && isObject(state.running)) {
      hasRunning = true;
      readyCount++;
    }
  }
  if (reason === 'Completed' && hasRunning) {
    const readyCondition = list(getPath(pod, ['status', 'conditions'])).find(
      (c) => isObject(c) && c.type === 'Ready',
    );
    reason = isObject(readyCondition) && readyCondition.status === 'True' ? 'Running' : 'NotReady';
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return { ready: `${readyCount}/${containers.length}`, status: reason, restarts };
}

export const podPrinter: Printer = {
  columns: [
    nameColumn,
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageColumn(),
    column('IP', 'string', 'IP address allocated to the pod.', 1),
    column('Node', 'string', 'Name of the node the pod is assigned to.', 1),
    column('Nominated Node', 'string', 'Name of the node where the pod is nominated to run.', 1),
    column('Readiness Gates', 'string', 'Pod readiness gates.', 1),
  ],
  cells: (pod, now) => {
    const s = podStatusCells(pod);
    const gates = list(getPath(pod, ['spec', 'readinessGates']));
    return [
      pod.metadata.name ?? '',
      s.ready,
      s.status,
      String(s.restarts),
      age(pod.metadata.creationTimestamp, now),
      str(getPath(pod, ['status', 'podIP'])),
      str(getPath(pod, ['spec', 'nodeName'])),
      str(getPath(pod, ['status', 'nominatedNodeName'])),
      gates.length === 0 ? '<none>' : `0/${gates.length}`,
    ];
  },
};

export const namespacePrinter: Printer = {
  columns: [nameColumn, column('Status', 'string', 'The status of the namespace'), ageColumn()],
  cells: (ns, now) => [
    ns.metadata.name ?? '',
    str(getPath(ns, ['status', 'phase']), ''),
    age(ns.metadata.creationTimestamp, now),
  ],
};

function servicePorts(svc: KubeObject): string {
  const ports = list(getPath(svc, ['spec', 'ports']));
  if (ports.length === 0) return '<none>';
  return ports
    .filter(isObject)
    .map(
      (p) =>
        `${String(p.port)}${typeof p.nodePort === 'number' ? `:${p.nodePort}` : ''}/${str(p.protocol, 'TCP')}`,
    )
    .join(',');
}

export const servicePrinter: Printer = {
  columns: [
    nameColumn,
    column('Type', 'string', 'The type of the service.'),
    column('Cluster-IP', 'string', 'The cluster IP of the service.'),
    column('External-IP', 'string', 'The external IP of the service.'),
    column('Port(s)', 'string', 'The ports of the service.'),
    ageColumn(),
    column('Selector', 'string', 'The label selector of the service.', 1),
  ],
  cells: (svc, now) => {
    const type = str(getPath(svc, ['spec', 'type']), 'ClusterIP');
    const externalIPs = list(getPath(svc, ['spec', 'externalIPs']));
    const external =
      type === 'ExternalName'
        ? str(getPath(svc, ['spec', 'externalName']))
        : externalIPs.length > 0
          ? externalIPs.join(',')
          : type === 'LoadBalancer'
            ? '<pending>'
            : '<none>';
    return [
      svc.metadata.name ?? '',
      type,
      str(getPath(svc, ['spec', 'clusterIP'])),
      external,
      servicePorts(svc),
      age(svc.metadata.creationTimestamp, now),
      mapSummary(getPath(svc, ['spec', 'selector'])),
    ];
  },
};

export const endpointsPrinter: Printer = {
  columns: [nameColumn, column('Endpoints', 'string', 'Endpoints of the service'), ageColumn()],
  cells: (ep, now) => {
    const addrs: string[] = [];
    for (const subset of list(ep.subsets).filter(isObject)) {
      const ports = list(subset.ports).filter(isObject);
      for (const a of list(subset.addresses).filter(isObject)) {
        if (ports.length === 0) addrs.push(String(a.ip));
        for (const p of ports) addrs.push(`${String(a.ip)}:${String(p.port)}`);
      }
    }
    const shown =
      addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
    return [ep.metadata.name ?? '', shown || '<none>', age(ep.metadata.creationTimestamp, now)];
  },
};

export const endpointSlicePrinter: Printer = {
  columns: [
    nameColumn,
    column('AddressType', 'string', 'The type of addresses in the slice.'),
    column('Ports', 'string', 'The ports of the slice.'),
    column('Endpoints', 'string', 'The addresses of the slice.'),
    ageColumn(),
  ],
  cells: (es, now) => {
    const ports = list(es.ports)
      .filter(isObject)
      .map((p) => String(p.port));
    const addrs = list(es.endpoints)
      .filter(isObject)
      .flatMap((e) => list(e.addresses).map(String));
    const shown =
      addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
    return [
      es.metadata.name ?? '',
      str(es.addressType, ''),
      ports.join(',') || '<unset>',
      shown || '<unset>',
      age(es.metadata.creationTimestamp, now),
    ];
  },
};

export const configMapPrinter: Printer = {
  columns: [nameColumn, column('Data', 'integer', 'Number of data entries'), ageColumn()],
  cells: (cm, now) => [
    cm.metadata.name ?? '',
    Object.keys(isObject(cm.data) ? cm.data : {}).length +
      Object.keys(isObject(cm.binaryData) ? cm.binaryData : {}).length,
    age(cm.metadata.creationTimestamp, now),
  ],
};

export const secretPrinter: Printer = {
  columns: [
    nameColumn,
    column('Type', 'string', 'The type of the secret'),
    column('Data', 'integer', 'Number of data entries'),
    ageColumn(),
  ],
  cells: (s, now) => [
    s.metadata.name ?? '',
    str(s.type, 'Opaque'),
    Object.keys(isObject(s.data) ? s.data : {}).length,
    age(s.metadata.creationTimestamp, now),
  ],
};

export const leasePrinter: Printer = {
  columns: [nameColumn, column('Holder', 'string', 'The holder of the lease'), ageColumn()],
  cells: (l, now) => [
    l.metadata.name ?? '',
    str(getPath(l, ['spec', 'holderIdentity']), ''),
    age(l.metadata.creationTimestamp, now),
  ],
};

/** Core events; events.k8s.io events are converted to this shape before printing. */
export const eventPrinter: Printer = {
  columns: [
    column('Last Seen', 'string', 'Time when last event from this source was observed'),
    column('Type', 'string', 'Type of this event'),
    column('Reason', 'string', 'Short, machine understandable string that gives the reason for this event'),
    column('Object', 'string', 'The object this Event is about'),
    column('Subobject', 'string', 'Subobject of the involved object', 1),
    column('Source', 'string', 'The component reporting this event', 1),
    column('Message', 'string', 'A human-readable description of the status of this operation'),
    column('First Seen', 'string', 'Time when this Event was first observed', 1),
    column('Count', 'string', 'The number of times this event has occurred', 1),
    { ...nameColumn, priority: 1 },
  ],
  cells: (e, now) => {
    const involved = isObject(e.involvedObject) ? e.involvedObject : {};
    const last =
      e.lastTimestamp ??
      getPath(e, ['series', 'lastObservedTime']) ??
      e.eventTime ??
      e.metadata.creationTimestamp;
    const first = e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
    const source =
      isObject(e.source) && typeof e.source.component === 'string' && e.source.component
        ? e.source.component
        : str(e.reportingComponent, '');
    return [
      age(last, now),
      str(e.type, ''),
      str(e.reason, ''),
      `${text(involved.kind).toLowerCase()}/${text(involved.name)}`,
      str(involved.fieldPath, ''),
      source,
      str(e.message, ''),
      age(first, now),
      String(typeof e.count === 'number' ? e.count : 1),
      e.metadata.name ?? '',
    ];
  },
};
