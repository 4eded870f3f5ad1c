// Shared helpers of the chart tests: render helm/workflow-router with the real helm, pick
// objects out of the rendered manifests, and turn a rendered container into the argv and
// environment its process would get from the kubelet (env values and $(VAR) references,
// Secret and fieldRef sources, Secret volumes materialised in a temporary directory).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { HELM } from '../../e2e/helpers/helm.ts';

export { HELM, helmInstalled } from '../../e2e/helpers/helm.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const CHART = join(REPO_ROOT, 'helm/workflow-router');

/** The chart's appVersion: the default image tag. */
export function appVersion(): string {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  return chart.appVersion;
}

/** A rendered Kubernetes object (only the fields the tests read are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface HttpProbe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  exec?: { command: string[] };
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  emptyDir?: Record<string, unknown>;
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
}

export interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: unknown[];
  };
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface HelmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real helm with private home directories (no repositories, no cluster). */
export function helm(args: string[]): HelmResult {
  const home = mkdtempSync(join(tmpdir(), 'helm-chart-test-'));
  try {
    const r = spawnSync(HELM, args, {
      encoding: 'utf8',
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        HOME: home,
        KUBECONFIG: join(home, 'no-kubeconfig'),
      },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Values as a temporary values file (nested objects and lists survive, unlike --set). */
function withValuesFile<T>(values: object, run: (args: string[]) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'helm-values-'));
  try {
    const file = join(dir, 'values.yaml');
    // YAML 1.1 as Helm reads it: strings such as `off` or `y` are quoted.
    writeFileSync(file, stringify(values, { version: '1.1' }));
    return run(['--values', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  includeCrds?: boolean;
}

/** `helm template` with these values; the result as it came. */
export function template(values: object = {}, options: RenderOptions = {}): HelmResult {
  return withValuesFile(values, (valueArgs) =>
    helm([
      'template',
      options.release ?? 'wr',
      CHART,
      '--namespace',
      options.namespace ?? 'llm',
      ...(options.includeCrds ? ['--include-crds'] : []),
      ...valueArgs,
    ]),
  );
}

/** `helm lint --strict` with these values. */
export function lint(values: object = {}): HelmResult {
  return withValuesFile(values, (valueArgs) => helm(['lint', '--strict', CHART, ...valueArgs]));
}

/** Parses multi-document YAML into objects (empty documents dropped). */
export function parseManifests(text: string): K8sObject[] {
  // YAML 1.1, as Kubernetes' Go parser reads it: an unquoted `y` or `on` is a boolean there.
  return parseAllDocuments(text, { version: '1.1' })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** Renders and parses; throws with helm's stderr when the render fails. */
export function render(values: object = {}, options: RenderOptions = {}): K8sObject[] {
  const r = template(values, options);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseManifests(r.stdout);
}

/** Objects of one kind. */
export function ofKind<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

/** The one object of a kind whose name ends with `suffix` (throws when absent or ambiguous). */
export function one<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string, suffix = ''): T {
  const found = ofKind<T>(objects, kind).filter((o) => o.metadata.name.endsWith(suffix));
  if (found.length !== 1)
    throw new Error(`expected one ${kind} named *${suffix}, found ${found.map((o) => o.metadata.name).join(', ') || 'none'}`);
  const [only] = found;
  if (!only) throw new Error('unreachable');
  return only;
}

/** The workload of a component (router, operator, redis) by its component label. */
export function workload(objects: K8sObject[], component: string): Workload {
  const found = objects.filter(
    (o) =>
      (o.kind === 'Deployment' || o.kind === 'StatefulSet') &&
      o.metadata.labels?.['app.kubernetes.io/component'] === component,
  ) as Workload[];
  if (found.length !== 1) throw new Error(`expected one ${component} workload, found ${found.length}`);
  const [only] = found;
  if (!only) throw new Error('unreachable');
  return only;
}

export function container(w: Workload, index = 0): Container {
  const c = w.spec.template.spec.containers[index];
  if (!c) throw new Error(`${w.metadata.name} has no container ${index}`);
  return c;
}

/** Decoded data of the rendered (or given) Secrets, by name. */
export function secretData(objects: K8sObject[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const s of ofKind(objects, 'Secret')) {
    const data = (s.data ?? {}) as Record<string, string>;
    const stringData = (s.stringData ?? {}) as Record<string, string>;
    out.set(s.metadata.name, {
      ...Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
      ...stringData,
    });
  }
  return out;
}

/** Kubernetes' $(VAR) expansion: defined variables are replaced, $$ escapes, others stay. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? (env[name] ?? match) : match;
  });
}

export interface ProcessSources {
  /** Secrets the container may reference, by name, decoded. */
  secrets: Map<string, Record<string, string>>;
  /** Values of `fieldRef` paths (metadata.name, metadata.namespace...). */
  fieldRefs?: Record<string, string>;
  /** The pod's volumes, to materialise Secret volumes. */
  volumes?: Volume[];
}

export interface ContainerProcess {
  /** The program the image's entrypoint runs (args[0]). */
  program: string;
  /** Its flags, mount paths rewritten to the materialised directories. */
  argv: string[];
  /** The container's environment, resolved and expanded. */
  env: Record<string, string>;
  /** Temporary directory of the materialised volumes; remove it when done. */
  dir: string;
}

/**
 * What the kubelet would start for `c`: env resolved in order (with $(VAR) expansion),
 * args expanded, Secret volumes written to a temporary directory that replaces their mount
 * path in the args.
 */
export function containerProcess(c: Container, sources: ProcessSources): ContainerProcess {
  const env: Record<string, string> = {};
  for (const v of c.env ?? []) {
    if (v.value !== undefined) env[v.name] = expand(v.value, env);
    else if (v.valueFrom?.secretKeyRef) {
      const { name, key } = v.valueFrom.secretKeyRef;
      const value = sources.secrets.get(name)?.[key];
      if (value === undefined) throw new Error(`env ${v.name}: Secret ${name} has no key ${key}`);
      env[v.name] = value;
    } else if (v.valueFrom?.fieldRef) {
      const value = sources.fieldRefs?.[v.valueFrom.fieldRef.fieldPath];
      if (value === undefined) throw new Error(`env ${v.name}: no value for ${v.valueFrom.fieldRef.fieldPath}`);
      env[v.name] = value;
    } else throw new Error(`env ${v.name}: unsupported source ${JSON.stringify(v.valueFrom)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'helm-pod-'));
  const mounts: [string, string][] = [];
  for (const m of c.volumeMounts ?? []) {
    const volume = sources.volumes?.find((v) => v.name === m.name);
    if (!volume?.secret) continue;
    const data = sources.secrets.get(volume.secret.secretName);
    if (!data) throw new Error(`volume ${m.name}: no Secret ${volume.secret.secretName}`);
    const local = join(dir, m.name);
    mkdirSync(local, { recursive: true });
    const items = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined) throw new Error(`volume ${m.name}: Secret has no key ${item.key}`);
      writeFileSync(join(local, item.path), value);
    }
    mounts.push([m.mountPath, local]);
  }
  const args = (c.args ?? []).map((a) => expand(a, env));
  const [program, ...flags] = args;
  if (program === undefined) throw new Error(`container ${c.name} has no args`);
  const argv = flags.map((a) => mounts.reduce((acc, [from, to]) => acc.replaceAll(from, to), a));
  return { program, argv, env, dir };
}

/** Runs `fn` with these variables set in process.env (the CLIs read WORKFLOW_* from there). */
export function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Programs the image's entrypoint dispatches on (its `case` line). */
export function entrypointPrograms(): string[] {
  const script = readFileSync(join(REPO_ROOT, 'docker-entrypoint.sh'), 'utf8');
  const match = /^\s*([a-z|-]+)\)\s*$/m.exec(script);
  if (!match?.[1]) throw new Error('docker-entrypoint.sh has no program case');
  return match[1].split('|');
}

/** True when `path` exists in the repository (for the programs' bin/ scripts). */
export function inRepo(path: string): boolean {
  return existsSync(join(REPO_ROOT, path));
}
