// The in-memory cluster: resource registry, storage and the generic REST verbs (get, list,
// create, update, patch, delete) with the apiserver's semantics — namespaces that must
// exist, generated names, uid and timestamps, optimistic concurrency, status subresources,
// generation, finalizers, pruning and field validation. HTTP (server.ts) and the in-process
// test helpers both go through here, so they cannot disagree.
import { randomUUID } from 'node:crypto';
import { builtinTypes } from './builtins.ts';
import { crdResourceType } from './crd.ts';
import {
  STALE_OBJECT,
  StatusError,
  alreadyExists,
  badRequest,
  conflict,
  fieldErr,
  forbidden,
  gone,
  invalid,
  methodNotAllowed,
  notFound,
  unsupportedMediaType,
} from './errors.ts';
import type { FieldError } from './errors.ts';
import { Controllers } from './controllers.ts';
import { clone, deepEqual, isObject } from './json.ts';
import type { JsonObject } from './json.ts';
import { recordApply, recordUpdate, serverSideApply } from './managed-fields.ts';
import type { KubeObject } from './meta.ts';
import { nowTimestamp, toKubeObject, validateObjectMeta } from './meta.ts';
import { jsonPatch, mergePatch } from './patch.ts';
import { ResourceRegistry, apiVersionOf } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { applyDefaults, prune } from './schema.ts';
import {
  checkFieldLabels,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.ts';
import { Store } from './store.ts';
import { storedKinds } from './stored-kinds.ts';
import { normalizeTimes } from './times.ts';
import { strategicMergePatch } from './strategic.ts';
import { validateAgainstSchema } from './validation.ts';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** Per-request options and the warnings the response will carry. */
export interface WriteContext {
  dryRun: boolean;
  fieldManager: string;
  fieldValidation: FieldValidation;
  warnings: string[];
  /** Server-side apply only: take ownership of conflicting fields. */
  force?: boolean;
}

export function writeContext(partial: Partial<WriteContext> = {}): WriteContext {
  return {
    dryRun: false,
    fieldManager: 'kube-api-emulator',
    fieldValidation: 'Warn',
    warnings: [],
    ...partial,
  };
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  propagationPolicy?: string;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

const SYSTEM_META = [
  'uid',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
  'selfLink',
] as const;
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

function generateSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS.charAt(Math.floor(Math.random() * NAME_CHARS.length));
  return s;
}

function withoutVolatile(obj: KubeObject): KubeObject {
  const c = clone(obj);
  delete c.metadata.resourceVersion;
  delete c.metadata.managedFields;
  return c;
}

function specChanged(a: KubeObject, b: KubeObject, ignoreStatus: boolean): boolean {
  const strip = (o: KubeObject): JsonObject => {
    const c: JsonObject = { ...o };
    delete c.metadata;
    delete c.apiVersion;
    delete c.kind;
    if (ignoreStatus) delete c.status;
    return c;
  };
  return !deepEqual(strip(a), strip(b));
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(raw: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (isObject(parsed) && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through to the apiserver's error
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

export interface ClusterOptions {
  historyLimit?: number;
}

export class Cluster {
  readonly registry = new ResourceRegistry();
  readonly store: Store;
  private readonly controllers: Controllers;
  private nextServiceIP = 1;
  private nextNodePort = 30000;
  /** Called when resource types appear or disappear (watches of removed types are closed). */
  onTypesChanged: (removed: ResourceType[]) => void = () => undefined;

  constructor(opts: ClusterOptions = {}) {
    this.store = new Store(opts.historyLimit ?? 1000);
    const ctx = {
      allocateClusterIP: () => {
        const n = this.nextServiceIP++;
        return `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      },
      allocateNodePort: () => this.nextNodePort++,
    };
    for (const rt of builtinTypes(ctx)) this.registry.add(rt);
    this.registry.add(crdResourceType());
    for (const rt of storedKinds()) this.registry.add(rt);
    this.controllers = new Controllers(this);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create(this.mustType('v1', 'Namespace'), undefined, { metadata: { name: ns } }, writeContext());
    }
  }

  mustType(apiVersion: string, kind: string): ResourceType {
    const rt = this.registry.byKind(apiVersion, kind);
    if (!rt)
      throw new StatusError(404, 'NotFound', `no matches for kind "${kind}" in version "${apiVersion}"`);
    return rt;
  }

  /** The registered type that owns a storage key (for internal writes by controllers). */
  typeForStorage(storage: string): ResourceType | undefined {
    return this.registry.all().find((rt) => rt.storage === storage);
  }

  // ---- conversion between storage and request versions ----

  toVersion(rt: ResourceType, stored: KubeObject): KubeObject {
    const obj = rt.hooks.fromStorage ? rt.hooks.fromStorage(stored) : stored;
    // Serialised as the apiserver does: kind, apiVersion and metadata first.
    const { kind: _kind, apiVersion: _apiVersion, metadata, ...rest } = obj;
    const out: KubeObject = { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata, ...rest };
    // Defaults apply on read as well, so objects stored before a schema change get them.
    if (rt.schemaIsValidation) applyDefaults(out, rt.schema);
    return out;
  }

  private toStorage(rt: ResourceType, obj: KubeObject): KubeObject {
    return rt.hooks.toStorage ? rt.hooks.toStorage(obj) : obj;
  }

  load(rt: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const stored = this.store.get(rt.storage, rt.namespaced ? namespace : undefined, name);
    return stored ? this.toVersion(rt, stored) : undefined;
  }

  private requireNamespace(namespace: string | undefined): string {
    if (!namespace) throw badRequest('the server could not find the requested resource');
    return namespace;
  }

  // ---- read verbs ----

  get(rt: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const obj = this.load(rt, namespace, name);
    if (!obj) throw notFound(rt, name);
    return obj;
  }

  list(rt: ResourceType, namespace: string | undefined, opts: ListOptions = {}): ListResult {
    const labels = parseLabelSelector(opts.labelSelector ?? '');
    const fields = parseFieldSelector(opts.fieldSelector ?? '');
    checkFieldLabels(rt, fields);
    const current = this.store.currentRevision;
    if (opts.resourceVersion && opts.resourceVersion !== '0') {
      const wanted = Number(opts.resourceVersion);
      if (!Number.isInteger(wanted)) throw badRequest(`invalid resource version: ${opts.resourceVersion}`);
      if (opts.resourceVersionMatch === 'Exact' && wanted !== current) {
        throw gone(`too old resource version: ${wanted} (${current})`);
      }
      if (wanted > current) {
        throw new StatusError(504, 'Timeout', `Too large resource version: ${wanted}, current: ${current}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
    }
    let listRv = current;
    let start = '';
    if (opts.continue) {
      const token = decodeContinue(opts.continue);
      if (token.rv < this.store.oldestWatchableRevision) {
        throw gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      listRv = token.rv;
      start = token.start;
    }
    const all = this.store
      .list(rt.storage, rt.namespaced ? namespace : undefined)
      .map((o) => this.toVersion(rt, o))
      .filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(rt, fields, o));
    const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    const remaining = start ? all.filter((o) => keyOf(o) >= start) : all;
    const result: ListResult = { items: remaining, resourceVersion: String(listRv) };
    if (opts.limit && opts.limit > 0 && remaining.length > opts.limit) {
      result.items = remaining.slice(0, opts.limit);
      const next = remaining[opts.limit];
      if (next) result.continue = encodeContinue({ rv: listRv, start: keyOf(next) });
      if (labels.length === 0 && fields.length === 0)
        result.remainingItemCount = remaining.length - opts.limit;
    }
    return result;
  }

  // ---- write verbs ----

  private decode(rt: ResourceType, body: unknown): KubeObject {
    const obj = toKubeObject(body, rt.kind, apiVersionOf(rt));
    if (obj.apiVersion && obj.apiVersion !== apiVersionOf(rt)) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(rt)})`,
      );
    }
    if (obj.kind && obj.kind !== rt.kind) {
      throw badRequest(
        `${obj.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: the kind in the data (${obj.kind}) does not match the expected kind (${rt.kind})`,
      );
    }
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    if (!rt.schemaIsValidation) {
      try {
        normalizeTimes(obj, rt.schema);
      } catch (e) {
        if (e instanceof StatusError)
          throw badRequest(
            `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${e.message}`,
          );
        throw e;
      }
    }
    return obj;
  }

  private checkNamespace(rt: ResourceType, obj: KubeObject, urlNamespace: string | undefined): void {
    if (!rt.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace && urlNamespace && obj.metadata.namespace !== urlNamespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = this.requireNamespace(urlNamespace ?? obj.metadata.namespace);
  }

  private requireActiveNamespace(rt: ResourceType, namespace: string, name: string): void {
    const ns = this.store.get('core/namespaces', undefined, namespace);
    if (!ns) throw notFound({ group: '', plural: 'namespaces' }, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(
        rt,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  private checkCrdActive(rt: ResourceType): void {
    if (!rt.crd) return;
    const crd = this.store.get('apiextensions.k8s.io/customresourcedefinitions', undefined, rt.crd);
    if (crd?.metadata.deletionTimestamp) {
      throw methodNotAllowed('create not allowed while custom resource definition is terminating');
    }
  }

  /** Prunes unknown fields and applies the fieldValidation directive to what was pruned. */
  private pruneUnknown(rt: ResourceType, obj: KubeObject, ctx: WriteContext): void {
    const unknown = prune(obj, rt.schema);
    if (unknown.length === 0 || ctx.fieldValidation === 'Ignore') return;
    const messages = unknown.map((p) => `unknown field "${p}"`);
    if (ctx.fieldValidation === 'Strict') {
      throw badRequest(
        `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: strict decoding error: ${messages.join(', ')}`,
      );
    }
    ctx.warnings.push(...messages);
  }

  private validate(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): void {
    const errors: FieldError[] = validateObjectMeta(obj.metadata, rt.nameRule);
    const schemaErrors = validateAgainstSchema(obj, rt.schema);
    if (rt.schemaIsValidation) {
      errors.push(...schemaErrors);
    } else {
      // A built-in's Go decoder fails on a wrongly typed field before any validation runs.
      const decode = schemaErrors.find(
        (e) => e.type === 'TypeInvalid' || /must be of type byte/.test(e.detail ?? ''),
      );
      if (decode) {
        throw badRequest(
          `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${decode.field}: ${decode.detail ?? ''}`,
        );
      }
      errors.push(...schemaErrors.filter((e) => e.type === 'Required'));
    }
    if (old && old.metadata.name !== obj.metadata.name)
      errors.push(fieldErr.invalid('metadata.name', obj.metadata.name, 'field is immutable'));
    errors.push(...(rt.hooks.validate?.(obj, old) ?? []));
    if (errors.length > 0) throw invalid(rt, obj.metadata.name ?? obj.metadata.generateName ?? '', errors);
  }

  /** POST: create a new object. `keepStatus` lets in-process helpers write status like a controller. */
  create(
    rt: ResourceType,
    urlNamespace: string | undefined,
    body: unknown,
    ctx: WriteContext,
    keepStatus = false,
  ): KubeObject {
    return this.createObject(rt, urlNamespace, body, ctx, keepStatus, undefined);
  }

  private createObject(
    rt: ResourceType,
    urlNamespace: string | undefined,
    body: unknown,
    ctx: WriteContext,
    keepStatus: boolean,
    applied: KubeObject | undefined,
  ): KubeObject {
    this.checkCrdActive(rt);
    const obj = this.decode(rt, body);
    this.checkNamespace(rt, obj, urlNamespace);
    if (obj.metadata.resourceVersion)
      throw badRequest('resourceVersion should not be set on objects to be created');
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = obj.metadata.generateName + generateSuffix();
    const name = obj.metadata.name ?? '';
    if (rt.namespaced) this.requireActiveNamespace(rt, obj.metadata.namespace ?? '', name);
    this.pruneUnknown(rt, obj, ctx);
    applyDefaults(obj, rt.schema);
    const status = obj.status;
    rt.hooks.prepareForCreate?.(obj);
    if (keepStatus && status !== undefined) obj.status = status;
    for (const key of SYSTEM_META) delete obj.metadata[key];
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = nowTimestamp();
    if (rt.tracksGeneration) obj.metadata.generation = 1;
    this.validate(rt, obj, undefined);
    if (this.store.get(rt.storage, obj.metadata.namespace, name)) throw alreadyExists(rt, name);
    ctx.warnings.push(...(rt.hooks.warnings?.(obj) ?? []));
    obj.metadata.managedFields = applied
      ? recordApply(obj, applied, rt, ctx.fieldManager)
      : recordUpdate(undefined, obj, rt, ctx.fieldManager, undefined);
    if (ctx.dryRun) return obj;
    const saved = this.toVersion(rt, this.store.create(rt.storage, this.toStorage(rt, obj)));
    this.controllers.settle();
    return saved;
  }

  /** PUT on an object or its status subresource. */
  update(
    rt: ResourceType,
    urlNamespace: string | undefined,
    name: string,
    body: unknown,
    ctx: WriteContext,
    subresource?: string,
  ): { object: KubeObject; created: boolean } {
    const obj = this.decode(rt, body);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    this.checkNamespace(rt, obj, urlNamespace);
    const existing = this.load(rt, obj.metadata.namespace, name);
    if (!existing) {
      if (rt.allowCreateOnUpdate && !subresource) {
        delete obj.metadata.resourceVersion;
        return { object: this.create(rt, urlNamespace, obj, ctx), created: true };
      }
      throw notFound(rt, name);
    }
    return { object: this.applyUpdate(rt, existing, obj, ctx, subresource, false), created: false };
  }

  /** The shared update path of PUT, PATCH and controllers; `existing` is in rt's version. */
  private applyUpdate(
    rt: ResourceType,
    existing: KubeObject,
    obj: KubeObject,
    ctx: WriteContext,
    subresource: string | undefined,
    keepStatus: boolean,
    applyManaged?: unknown[],
  ): KubeObject {
    const name = existing.metadata.name ?? '';
    const rv = obj.metadata.resourceVersion;
    if (!rv) {
      if (!rt.allowUnconditionalUpdate) {
        throw invalid(rt, name, [
          fieldErr.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update'),
        ]);
      }
    } else if (rv !== existing.metadata.resourceVersion) {
      throw conflict(rt, name, STALE_OBJECT);
    }
    if (obj.metadata.uid && obj.metadata.uid !== existing.metadata.uid) {
      throw conflict(
        rt,
        name,
        `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${existing.metadata.uid ?? ''}`,
      );
    }
    this.pruneUnknown(rt, obj, ctx);
    applyDefaults(obj, rt.schema);
    for (const key of SYSTEM_META) {
      if (existing.metadata[key] === undefined) delete obj.metadata[key];
      else (obj.metadata as Record<string, unknown>)[key] = existing.metadata[key];
    }
    let next: KubeObject;
    const hasStatus = rt.subresources.includes('status');
    if (subresource === 'status') {
      next = clone(existing);
      if (obj.status === undefined) delete next.status;
      else next.status = obj.status;
    } else {
      next = obj;
      if (hasStatus && !keepStatus) {
        if (existing.status === undefined) delete next.status;
        else next.status = clone(existing.status);
      }
      rt.hooks.prepareForUpdate?.(next, existing);
      if (existing.metadata.deletionTimestamp) {
        const added = (next.metadata.finalizers ?? []).filter(
          (f) => !(existing.metadata.finalizers ?? []).includes(f),
        );
        if (added.length > 0) {
          throw invalid(rt, name, [
            fieldErr.forbidden(
              'metadata.finalizers',
              `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
            ),
          ]);
        }
      }
    }
    if (rt.tracksGeneration && specChanged(existing, next, hasStatus)) {
      next.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    }
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
    this.validate(rt, next, existing);
    ctx.warnings.push(...(rt.hooks.warnings?.(next) ?? []));
    next.metadata.managedFields =
      applyManaged ?? recordUpdate(existing, next, rt, ctx.fieldManager, subresource);
    if (deepEqual(withoutVolatile(next), withoutVolatile(existing))) return existing;
    if (ctx.dryRun) return next;
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      !this.heldByController(rt, next)
    ) {
      return this.finishDelete(rt, next);
    }
    const saved = this.toVersion(rt, this.store.update(rt.storage, this.toStorage(rt, next)));
    this.controllers.settle();
    return saved;
  }

  /** Namespaces and CRDs stay while their controllers clean up, even without metadata finalizers. */
  private heldByController(rt: ResourceType, obj: KubeObject): boolean {
    if (rt.storage === 'core/namespaces') {
      const spec = isObject(obj.spec) ? obj.spec : {};
      return Array.isArray(spec.finalizers) && spec.finalizers.length > 0;
    }
    return false;
  }

  /** PATCH with any of the four patch types, on an object or its status. */
  patch(
    rt: ResourceType,
    urlNamespace: string | undefined,
    name: string,
    type: PatchType,
    body: unknown,
    ctx: WriteContext,
    subresource?: string,
  ): { object: KubeObject; created: boolean } {
    const namespace = rt.namespaced ? this.requireNamespace(urlNamespace) : undefined;
    const existing = this.load(rt, namespace, name);
    if (type === 'apply') return this.apply(rt, namespace, name, existing, body, ctx, subresource);
    if (!existing) throw notFound(rt, name);
    let patched: unknown;
    switch (type) {
      case 'merge':
        if (!isObject(body))
          throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
        patched = mergePatch(existing, body);
        break;
      case 'json':
        patched = jsonPatch(existing, body);
        break;
      case 'strategic':
        if (!rt.strategicMerge) {
          throw unsupportedMediaType('application/strategic-merge-patch+json', [
            'application/json-patch+json',
            'application/merge-patch+json',
            'application/apply-patch+yaml',
          ]);
        }
        patched = strategicMergePatch(existing, body, rt.schema);
        break;
    }
    const obj = this.decode(rt, patched);
    if (obj.metadata.name !== name) {
      throw invalid(rt, name, [fieldErr.invalid('metadata.name', obj.metadata.name, 'field is immutable')]);
    }
    this.checkNamespace(rt, obj, namespace);
    // A patch that does not set resourceVersion applies to whatever is current.
    obj.metadata.resourceVersion ??= existing.metadata.resourceVersion;
    return { object: this.applyUpdate(rt, existing, obj, ctx, subresource, false), created: false };
  }

  private apply(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    existing: KubeObject | undefined,
    body: unknown,
    ctx: WriteContext,
    subresource: string | undefined,
  ): { object: KubeObject; created: boolean } {
    if (!ctx.fieldManager)
      throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
    const config = this.decode(rt, body);
    if (config.metadata.name !== undefined && config.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    config.metadata.name = name;
    this.checkNamespace(rt, config, namespace);
    if (!existing) {
      if (subresource) throw notFound(rt, name);
      return { object: this.createObject(rt, namespace, clone(config), ctx, false, config), created: true };
    }
    const result = serverSideApply(existing, config, rt, ctx.fieldManager, ctx.force === true, subresource);
    result.object.metadata.resourceVersion =
      config.metadata.resourceVersion ?? existing.metadata.resourceVersion;
    return {
      object: this.applyUpdate(rt, existing, result.object, ctx, subresource, false, result.managedFields),
      created: false,
    };
  }

  /** DELETE: immediate, or marked with deletionTimestamp while finalizers remain. */
  delete(
    rt: ResourceType,
    urlNamespace: string | undefined,
    name: string,
    opts: DeleteOptions,
    ctx: WriteContext,
  ): { object: KubeObject; deleted: boolean } {
    const namespace = rt.namespaced ? this.requireNamespace(urlNamespace) : undefined;
    const existing = this.load(rt, namespace, name);
    if (!existing) throw notFound(rt, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== existing.metadata.uid) {
      throw conflict(
        rt,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid ?? ''}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(
        rt,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion ?? ''}`,
      );
    }
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : 'Background');
    if (!['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw invalid({ group: '', kind: 'DeleteOptions' }, '', [
        fieldErr.notSupported('propagationPolicy', policy, ['Foreground', 'Background', 'Orphan']),
      ]);
    }
    const next = clone(existing);
    const finalizers = new Set(next.metadata.finalizers ?? []);
    if (policy === 'Orphan') finalizers.add('orphan');
    if (policy === 'Foreground') finalizers.add('foregroundDeletion');
    if (policy !== 'Orphan') finalizers.delete('orphan');
    if (finalizers.size > 0) next.metadata.finalizers = [...finalizers];
    const heldByHook = !existing.metadata.deletionTimestamp && rt.hooks.beginDelete?.(next) === true;
    if (finalizers.size > 0 || heldByHook || existing.metadata.deletionTimestamp) {
      if (!next.metadata.deletionTimestamp) {
        if ((next.metadata.generation ?? 0) > 0)
          next.metadata.generation = (next.metadata.generation ?? 0) + 1;
        next.metadata.deletionTimestamp = nowTimestamp();
        next.metadata.deletionGracePeriodSeconds = 0;
      }
      if (ctx.dryRun || deepEqual(next, existing)) return { object: next, deleted: false };
      const saved = this.toVersion(rt, this.store.update(rt.storage, this.toStorage(rt, next)));
      this.controllers.settle();
      return { object: this.load(rt, namespace, name) ?? saved, deleted: false };
    }
    if (ctx.dryRun) return { object: existing, deleted: true };
    return { object: this.finishDelete(rt, existing), deleted: true };
  }

  /** Removes an object from storage and lets the collectors react. */
  finishDelete(rt: ResourceType, obj: KubeObject): KubeObject {
    const removed = this.store.delete(rt.storage, obj.metadata.namespace, obj.metadata.name ?? '');
    this.controllers.settle();
    return removed ? this.toVersion(rt, removed) : obj;
  }

  /** DELETE on a collection: every object the selectors match. */
  deleteCollection(
    rt: ResourceType,
    namespace: string | undefined,
    opts: ListOptions,
    del: DeleteOptions,
    ctx: WriteContext,
  ): KubeObject[] {
    const items = this.list(rt, namespace, { ...opts, limit: 0, continue: '' }).items;
    const out: KubeObject[] = [];
    for (const item of items) {
      try {
        out.push(this.delete(rt, item.metadata.namespace, item.metadata.name ?? '', del, ctx).object);
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
    return out;
  }

  /**
   * Create or replace, for in-process test helpers: acts like a controller that owns the
   * object, writing spec and status together and without a resourceVersion precondition.
   */
  put(body: unknown): KubeObject {
    if (!isObject(body) || typeof body.apiVersion !== 'string' || typeof body.kind !== 'string') {
      throw badRequest('apply() needs an object with apiVersion and kind');
    }
    const rt = this.mustType(body.apiVersion, body.kind);
    const obj = this.decode(rt, body);
    const ctx = writeContext({ fieldManager: 'kube-api-test' });
    const existing = this.load(rt, obj.metadata.namespace, obj.metadata.name ?? '');
    if (!existing) return this.create(rt, obj.metadata.namespace, obj, ctx, true);
    obj.metadata.resourceVersion = existing.metadata.resourceVersion;
    if (obj.status === undefined && existing.status !== undefined) obj.status = existing.status;
    return this.applyUpdate(rt, existing, obj, ctx, undefined, true);
  }

  /** A write by a built-in controller (GC, namespace and CRD lifecycle): no admission, no conflicts. */
  systemUpdate(rt: ResourceType, obj: KubeObject): KubeObject {
    const saved = this.store.update(rt.storage, this.toStorage(rt, obj));
    return this.toVersion(rt, saved);
  }

  systemDelete(rt: ResourceType, obj: KubeObject): void {
    this.store.delete(rt.storage, obj.metadata.namespace, obj.metadata.name ?? '');
  }

  /** Lets controllers delete like a client would (finalizers honoured, GC triggered). */
  deleteAsController(rt: ResourceType, obj: KubeObject, policy = 'Background'): void {
    try {
      this.delete(
        rt,
        obj.metadata.namespace,
        obj.metadata.name ?? '',
        { propagationPolicy: policy },
        writeContext({ fieldManager: 'kube-controller-manager' }),
      );
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
  }

  /** Runs the collectors now (also done after every write). */
  settle(): void {
    this.controllers.settle();
  }
}
