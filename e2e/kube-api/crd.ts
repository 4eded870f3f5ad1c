// CustomResourceDefinitions: the CRD kind itself (defaults, validation of names, versions
// and structural schemas, the status its controllers write) and the resource types a CRD
// serves, one per served version, validated by its openAPIV3Schema and CEL rules.
import { crdSchema } from './builtin-schemas.ts';
import { evaluateRules, ruleSupported } from './cel-rules.ts';
import { fieldErr } from './errors.ts';
import type { FieldError } from './errors.ts';
import { deepEqual, ensureObject, getPath, isObject } from './json.ts';
import type { JsonObject } from './json.ts';
import { evalJsonPath, jsonPathText, parseJsonPath } from './jsonpath.ts';
import type { KubeObject } from './meta.ts';
import { nameProblems, nowTimestamp } from './meta.ts';
import { ALL_VERBS } from './resources.ts';
import type { ResourceType } from './resources.ts';
import type { Schema } from './schema.ts';
import { crdPrinter, defaultPrinter } from './table.ts';
import type { PrinterColumnSpec } from './table.ts';
import { patternCompiles } from './validation.ts';

export const CRD_GROUP = 'apiextensions.k8s.io';
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const SCHEMA_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'];

export interface CrdNames {
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function crdNames(crd: KubeObject): CrdNames {
  const names = getPath(crd, ['spec', 'names']);
  const n = isObject(names) ? names : {};
  const kind = str(n.kind);
  return {
    plural: str(n.plural),
    singular: str(n.singular) || kind.toLowerCase(),
    kind,
    listKind: str(n.listKind) || `${kind}List`,
    shortNames: strings(n.shortNames),
    categories: strings(n.categories),
  };
}

function versionsOf(crd: KubeObject): JsonObject[] {
  const v = getPath(crd, ['spec', 'versions']);
  return Array.isArray(v) ? v.filter(isObject) : [];
}

export function crdGroup(crd: KubeObject): string {
  return str(getPath(crd, ['spec', 'group']));
}

export function storageVersion(crd: KubeObject): string {
  return str(versionsOf(crd).find((v) => v.storage === true)?.name);
}

function setDefaults(crd: KubeObject): void {
  const spec = ensureObject(crd, 'spec');
  const names = ensureObject(spec, 'names');
  const kind = str(names.kind);
  if (kind) {
    names.singular ??= kind.toLowerCase();
    names.listKind ??= `${kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
  for (const v of versionsOf(crd)) {
    const columns = v.additionalPrinterColumns;
    if (Array.isArray(columns)) for (const c of columns) if (isObject(c)) c.priority ??= 0;
  }
}

// ---- structural schema checks ----

function checkSchema(
  node: unknown,
  path: string,
  errors: FieldError[],
  context: 'root' | 'property' | 'items' | 'additional',
): void {
  if (!isObject(node)) {
    errors.push(fieldErr.invalid(path, node, 'must be an object'));
    return;
  }
  const type = node.type;
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if ('$ref' in node) errors.push(fieldErr.forbidden(`${path}.$ref`, '$ref is not supported'));
  if (type === undefined || type === '') {
    if (context === 'root') errors.push(fieldErr.required(`${path}.type`, 'must not be empty at the root'));
    else if (!intOrString && !preserve) {
      const what = context === 'items' ? 'for specified array items' : 'for specified object fields';
      errors.push(fieldErr.required(`${path}.type`, `must not be empty ${what}`));
    }
  } else if (typeof type !== 'string' || !SCHEMA_TYPES.includes(type)) {
    errors.push(fieldErr.notSupported(`${path}.type`, type, SCHEMA_TYPES));
  } else if (context === 'root' && type !== 'object') {
    errors.push(fieldErr.invalid(`${path}.type`, type, 'must be object at the root'));
  }
  if (type === 'array' && node.items === undefined)
    errors.push(fieldErr.required(`${path}.items`, 'must be specified'));
  if (
    node.properties !== undefined &&
    node.additionalProperties !== undefined &&
    node.additionalProperties !== false
  ) {
    errors.push(
      fieldErr.forbidden(
        `${path}.additionalProperties`,
        'additionalProperties and properties are mutual exclusive',
      ),
    );
  }
  if (typeof node.pattern === 'string' && !patternCompiles(node.pattern)) {
    errors.push(fieldErr.invalid(`${path}.pattern`, node.pattern, 'must be a valid regular expression'));
  }
  if (node['x-kubernetes-list-type'] === 'map' && strings(node['x-kubernetes-list-map-keys']).length === 0) {
    errors.push(
      fieldErr.required(
        `${path}.x-kubernetes-list-map-keys`,
        'must not be empty if x-kubernetes-list-type is map',
      ),
    );
  }
  if (isObject(node.properties)) {
    for (const [key, child] of Object.entries(node.properties)) {
      if (context === 'root' && key === 'metadata' && isObject(child) && isObject(child.properties)) {
        const extra = Object.keys(child.properties).filter((k) => k !== 'name' && k !== 'generateName');
        if (extra.length > 0) {
          errors.push(
            fieldErr.forbidden(
              `${path}.properties[metadata]`,
              'must not specify anything other than name and generateName, but metadata is implicitly specified',
            ),
          );
        }
      }
      checkSchema(child, `${path}.properties[${key}]`, errors, 'property');
    }
  }
  if (node.items !== undefined) checkSchema(node.items, `${path}.items`, errors, 'items');
  if (isObject(node.additionalProperties))
    checkSchema(node.additionalProperties, `${path}.additionalProperties`, errors, 'additional');
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = node[key];
    if (Array.isArray(list))
      list.forEach((s, i) => {
        if (isObject(s) && s.type !== undefined)
          errors.push(fieldErr.forbidden(`${path}.${key}[${i}].type`, 'must be empty to be structural'));
      });
  }
}

function unsupportedRules(node: unknown, out: string[]): void {
  if (!isObject(node)) return;
  const rules = node['x-kubernetes-validations'];
  if (Array.isArray(rules)) {
    for (const r of rules)
      if (isObject(r) && typeof r.rule === 'string' && !ruleSupported(r.rule)) out.push(r.rule);
  }
  if (isObject(node.properties))
    for (const child of Object.values(node.properties)) unsupportedRules(child, out);
  unsupportedRules(node.items, out);
  unsupportedRules(node.additionalProperties, out);
}

/** CEL rules of a CRD that the emulator will not evaluate, for a warning on create. */
export function unevaluatedRules(crd: KubeObject): string[] {
  const out: string[] = [];
  for (const v of versionsOf(crd)) unsupportedRules(getPath(v, ['schema', 'openAPIV3Schema']), out);
  return out;
}

function dns1035Problems(field: string, value: string, errors: FieldError[]): void {
  for (const p of nameProblems('dns1035', value)) errors.push(fieldErr.invalid(field, value, p));
}

function validateCrd(crd: KubeObject, old: KubeObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isObject(crd.spec) ? crd.spec : {};
  const group = str(spec.group);
  const names = crdNames(crd);
  if (!group) errors.push(fieldErr.required('spec.group', ''));
  else if (!group.includes('.'))
    errors.push(fieldErr.invalid('spec.group', group, 'should be a domain with at least one dot'));
  else if (
    /(^|\.)(k8s|kubernetes)\.io$/.test(group) &&
    !crd.metadata.annotations?.['api-approved.kubernetes.io']
  ) {
    errors.push(
      fieldErr.required(
        'metadata.annotations[api-approved.kubernetes.io]',
        'protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
      ),
    );
  }
  if (crd.metadata.name !== `${names.plural}.${group}`) {
    errors.push(
      fieldErr.invalid('metadata.name', crd.metadata.name ?? '', 'must be spec.names.plural+"."+spec.group'),
    );
  }
  if (!['Namespaced', 'Cluster'].includes(str(spec.scope))) {
    errors.push(fieldErr.notSupported('spec.scope', spec.scope ?? '', ['Cluster', 'Namespaced']));
  }
  if (!names.plural) errors.push(fieldErr.required('spec.names.plural', ''));
  else dns1035Problems('spec.names.plural', names.plural, errors);
  dns1035Problems('spec.names.singular', names.singular, errors);
  if (!names.kind) errors.push(fieldErr.required('spec.names.kind', ''));
  else if (nameProblems('dns1035', names.kind.toLowerCase()).length > 0) {
    errors.push(
      fieldErr.invalid(
        'spec.names.kind',
        names.kind,
        'may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?',
      ),
    );
  }
  names.shortNames.forEach((s, i) => dns1035Problems(`spec.names.shortNames[${i}]`, s, errors));
  names.categories.forEach((s, i) => dns1035Problems(`spec.names.categories[${i}]`, s, errors));

  const versions = versionsOf(crd);
  if (versions.length === 0)
    errors.push(
      fieldErr.required('spec.versions', 'must have exactly one version marked as storage version'),
    );
  if (versions.filter((v) => v.storage === true).length !== 1 && versions.length > 0) {
    errors.push(
      fieldErr.invalid(
        'spec.versions',
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  if (versions.length > 0 && !versions.some((v) => v.served === true)) {
    errors.push(
      fieldErr.invalid(
        'spec.versions',
        versions.map((v) => v.name),
        'must have at least one version marked as served',
      ),
    );
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    const name = str(v.name);
    if (seen.has(name)) errors.push(fieldErr.duplicate(`${at}.name`, name));
    seen.add(name);
    dns1035Problems(`${at}.name`, name, errors);
    const schema = getPath(v, ['schema', 'openAPIV3Schema']);
    if (schema === undefined)
      errors.push(fieldErr.required(`${at}.schema.openAPIV3Schema`, 'schemas are required'));
    else checkSchema(schema, `${at}.schema.openAPIV3Schema`, errors, 'root');
    const status = getPath(v, ['subresources', 'status']);
    if (status !== undefined && !(isObject(status) && Object.keys(status).length === 0)) {
      errors.push(fieldErr.invalid(`${at}.subresources.status`, status, 'must be empty'));
    }
    const columns = Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : [];
    columns.forEach((c, j) => {
      const cat = `${at}.additionalPrinterColumns[${j}]`;
      if (!isObject(c)) return;
      if (!str(c.name)) errors.push(fieldErr.required(`${cat}.name`, ''));
      if (!COLUMN_TYPES.includes(str(c.type)))
        errors.push(fieldErr.notSupported(`${cat}.type`, c.type ?? '', COLUMN_TYPES));
      try {
        parseJsonPath(str(c.jsonPath));
        if (!str(c.jsonPath)) errors.push(fieldErr.required(`${cat}.jsonPath`, ''));
      } catch {
        errors.push(fieldErr.invalid(`${cat}.jsonPath`, c.jsonPath, 'must be a simple json path'));
      }
    });
  });
  if (old) {
    if (crdGroup(old) !== group) errors.push(fieldErr.invalid('spec.group', group, 'field is immutable'));
    const oldScope = getPath(old, ['spec', 'scope']);
    if (oldScope !== spec.scope)
      errors.push(fieldErr.invalid('spec.scope', spec.scope, 'field is immutable'));
  }
  return errors;
}

/** The resource type for customresourcedefinitions. */
export function crdResourceType(): ResourceType {
  return {
    group: CRD_GROUP,
    version: 'v1',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    storage: `${CRD_GROUP}/customresourcedefinitions`,
    schema: crdSchema,
    schemaIsValidation: false,
    nameRule: 'subdomain',
    tracksGeneration: true,
    returnsDeletedObject: true,
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: false,
    strategicMerge: true,
    fieldLabels: {},
    printer: defaultPrinter,
    hooks: {
      prepareForCreate(crd) {
        setDefaults(crd);
        crd.status = { storedVersions: [storageVersion(crd)].filter(Boolean) };
      },
      prepareForUpdate(crd) {
        setDefaults(crd);
      },
      validate: validateCrd,
      warnings: (crd) =>
        unevaluatedRules(crd).map(
          (rule) =>
            `x-kubernetes-validations rule ${JSON.stringify(rule)} is outside the CEL subset of the kube-api emulator and is not evaluated`,
        ),
      beginDelete(crd) {
        const finalizers = crd.metadata.finalizers ?? [];
        if (!finalizers.includes(CRD_CLEANUP_FINALIZER))
          crd.metadata.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
        return true;
      },
    },
  };
}

function condition(
  type: string,
  status: string,
  reason: string,
  message: string,
  previous: unknown,
): JsonObject {
  const prior: unknown = Array.isArray(previous)
    ? (previous as unknown[]).find((c) => isObject(c) && c.type === type)
    : undefined;
  const keep = isObject(prior) && prior.status === status && typeof prior.lastTransitionTime === 'string';
  return {
    type,
    status,
    lastTransitionTime: keep ? prior.lastTransitionTime : nowTimestamp(),
    reason,
    message,
  };
}

/**
 * The status the CRD controllers converge to: names accepted (or the conflict), Established,
 * Terminating while instances are being cleaned up, stored versions.
 */
export function desiredCrdStatus(crd: KubeObject, conflict: string | undefined): JsonObject {
  const status = isObject(crd.status) ? crd.status : {};
  const previous = status.conditions;
  const names = crdNames(crd);
  const conditions: JsonObject[] = [];
  if (conflict) {
    conditions.push(condition('NamesAccepted', 'False', 'NameConflict', conflict, previous));
    conditions.push(condition('Established', 'False', 'NotAccepted', 'not all names are accepted', previous));
  } else {
    conditions.push(condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found', previous));
    conditions.push(
      condition(
        'Established',
        'True',
        'InitialNamesAccepted',
        'the initial names have been accepted',
        previous,
      ),
    );
  }
  if (crd.metadata.deletionTimestamp) {
    conditions.push(
      condition(
        'Terminating',
        'True',
        'InstanceDeletionInProgress',
        'CustomResource deletion is in progress',
        previous,
      ),
    );
  }
  const stored = strings(status.storedVersions);
  const sv = storageVersion(crd);
  if (sv && !stored.includes(sv)) stored.push(sv);
  const accepted: JsonObject = {
    plural: names.plural,
    singular: names.singular,
    kind: names.kind,
    listKind: names.listKind,
  };
  if (names.shortNames.length > 0) accepted.shortNames = names.shortNames;
  if (names.categories.length > 0) accepted.categories = names.categories;
  return {
    conditions,
    acceptedNames: conflict
      ? isObject(status.acceptedNames)
        ? status.acceptedNames
        : { plural: '', kind: '' }
      : accepted,
    storedVersions: stored,
  };
}

/** True when two statuses differ in more than condition timestamps. */
export function crdStatusChanged(current: unknown, desired: JsonObject): boolean {
  return !deepEqual(current, desired);
}

function selectableFieldLabels(version: JsonObject): ResourceType['fieldLabels'] {
  const labels: ResourceType['fieldLabels'] = {};
  const fields = Array.isArray(version.selectableFields) ? version.selectableFields : [];
  for (const f of fields) {
    const path = isObject(f) ? str(f.jsonPath) : '';
    if (!path) continue;
    try {
      const steps = parseJsonPath(path);
      labels[path.replace(/^\./, '')] = (obj) => {
        const values = evalJsonPath(steps, obj);
        return values.length > 0 ? jsonPathText(values) : '';
      };
    } catch {
      // Rejected at CRD validation in the real apiserver; an unparsable path simply selects nothing here.
    }
  }
  return labels;
}

/** The resource types a CRD serves, one per served version (conversion strategy None). */
export function customResourceTypes(crd: KubeObject): ResourceType[] {
  const names = crdNames(crd);
  const group = crdGroup(crd);
  const namespaced = getPath(crd, ['spec', 'scope']) !== 'Cluster';
  const storage = storageVersion(crd);
  const types: ResourceType[] = [];
  for (const v of versionsOf(crd)) {
    if (v.served !== true) continue;
    const version = str(v.name);
    const schema = (getPath(v, ['schema', 'openAPIV3Schema']) ?? {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    }) as Schema;
    const columns = (Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : []).filter(
      isObject,
    ) as unknown as PrinterColumnSpec[];
    const hasStatus = isObject(getPath(v, ['subresources', 'status']));
    types.push({
      group,
      version,
      plural: names.plural,
      singular: names.singular,
      kind: names.kind,
      listKind: names.listKind,
      namespaced,
      shortNames: names.shortNames,
      categories: names.categories,
      verbs: ALL_VERBS,
      subresources: hasStatus ? ['status'] : [],
      storage: `cr:${group}/${names.plural}`,
      schema,
      schemaIsValidation: true,
      nameRule: 'subdomain',
      tracksGeneration: true,
      returnsDeletedObject: true,
      allowCreateOnUpdate: false,
      allowUnconditionalUpdate: false,
      strategicMerge: false,
      fieldLabels: selectableFieldLabels(v),
      printer: crdPrinter(columns),
      crd: crd.metadata.name ?? '',
      hooks: {
        prepareForCreate(obj) {
          // With the status subresource, status can only be written through /status.
          if (hasStatus) delete obj.status;
        },
        validate: (obj, old) => evaluateRules(schema, obj, old).errors,
        toStorage: (obj) => ({ ...obj, apiVersion: `${group}/${storage}` }),
        fromStorage: (obj) => ({ ...obj, apiVersion: `${group}/${version}` }),
      },
    });
  }
  return types;
}
