import { z } from 'zod';

/** Workflow, agent and tenant ids: safe in URLs, Redis keys, label values and logs. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const idSchema = z
  .string()
  .regex(ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit');

/** A workflow's identity: ids are scoped by tenant so tenants never see each other's workflows. */
export interface WorkflowKey {
  readonly tenant: string;
  readonly id: string;
}

export const DEFAULT_TENANT = 'default';

/** Stable string form of a key, used for maps, hash tags and rendezvous hashing. */
export function keyString(key: WorkflowKey): string {
  return `${key.tenant}/${key.id}`;
}

export function parseKeyString(text: string): WorkflowKey {
  const slash = text.indexOf('/');
  return { tenant: text.slice(0, slash), id: text.slice(slash + 1) };
}
