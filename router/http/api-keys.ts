import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_TENANT, idSchema } from '../../core/ids.ts';
import type { TenantLimits } from '../safety-config.ts';

export type Role = 'user' | 'admin';

/** Who a valid key belongs to. The key itself is never kept: only its SHA-256 digest. */
export interface KeyOwner {
  tenant: string;
  role: Role;
  /** A name for logs and metrics (the file's `label`, else the digest's first 8 hex digits). */
  label: string;
}

interface KeyEntry extends KeyOwner {
  digest: Buffer;
}

const limitsSchema = z
  .object({
    calls_per_second: z.number().finite().min(0),
    max_concurrent_calls: z.number().int().min(0),
    max_workflows: z.number().int().min(0),
    max_queued_messages: z.number().int().min(0),
  })
  .partial()
  .strict();

/**
 * `--api-keys-file`: YAML (or JSON) holding keys as SHA-256 digests, each with a tenant and
 * a role, and optional per-tenant limits that override the `--tenant-*` defaults:
 *
 *   keys:
 *     - sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
 *       tenant: acme
 *       role: user          # user (default) or admin
 *       label: acme-ci      # optional: how logs name the key
 *   tenants:
 *     acme: { calls_per_second: 20, max_concurrent_calls: 50 }
 */
const keysFileSchema = z
  .object({
    keys: z
      .array(
        z
          .object({
            sha256: z
              .string()
              .regex(/^(sha256:)?[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the SHA-256 of the key)'),
            tenant: idSchema,
            role: z.enum(['user', 'admin']).default('user'),
            label: z
              .string()
              .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')
              .optional(),
          })
          .strict(),
      )
      .default([]),
    tenants: z.record(idSchema, limitsSchema).default({}),
  })
  .strict();

/** A keys file the router cannot use; the message names the problem, never a key. */
export class KeysFileError extends Error {
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'KeysFileError';
  }
}

export interface KeysFile {
  entries: KeyEntry[];
  tenants: Map<string, Partial<TenantLimits>>;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Parses the text of a keys file (YAML or JSON). */
export function parseKeysFile(text: string, path = 'keys file'): KeysFile {
  let raw: unknown;
  try {
    raw = parseYaml(text) as unknown;
  } catch (error) {
    throw new KeysFileError(
      path,
      `not YAML or JSON (${error instanceof Error ? error.name : 'parse error'})`,
    );
  }
  const parsed = keysFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeysFileError(path, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const entries = parsed.data.keys.map((k) => {
    const hex = k.sha256.replace(/^sha256:/, '').toLowerCase();
    return {
      digest: Buffer.from(hex, 'hex'),
      tenant: k.tenant,
      role: k.role,
      label: k.label ?? hex.slice(0, 8),
    };
  });
  const tenants = new Map<string, Partial<TenantLimits>>();
  for (const [tenant, l] of Object.entries(parsed.data.tenants)) {
    tenants.set(tenant, {
      ...(l.calls_per_second !== undefined ? { callsPerSecond: l.calls_per_second } : {}),
      ...(l.max_concurrent_calls !== undefined ? { maxConcurrentCalls: l.max_concurrent_calls } : {}),
      ...(l.max_workflows !== undefined ? { maxWorkflows: l.max_workflows } : {}),
      ...(l.max_queued_messages !== undefined ? { maxQueuedMessages: l.max_queued_messages } : {}),
    });
  }
  return { entries, tenants };
}

export function loadKeysFile(path: string): KeysFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new KeysFileError(path, `cannot be read (${code})`);
  }
  return parseKeysFile(text, path);
}

/**
 * The keys this replica accepts: the `--api-keys-file` entries, plus the legacy plaintext
 * `--api-keys` (tenant `default`, role admin), both held as digests only. Lookups compare the
 * presented key's digest with every entry in constant time, so neither a key nor which entry
 * matched leaks through timing. No key at all means the router is open (tenant `default`, admin).
 */
export class Keyring {
  private entries: KeyEntry[];
  private tenants: Map<string, Partial<TenantLimits>>;
  private readonly legacy: KeyEntry[];
  private readonly path: string | undefined;
  private mtimeMs = 0;
  private watcher: NodeJS.Timeout | undefined;

  constructor(legacyKeys: readonly string[], path?: string) {
    this.legacy = legacyKeys.map((key) => {
      const digest = sha256(key);
      return { digest, tenant: DEFAULT_TENANT, role: 'admin', label: digest.toString('hex').slice(0, 8) };
    });
    this.path = path;
    this.entries = [...this.legacy];
    this.tenants = new Map();
    if (path !== undefined) this.reload();
  }

  /** True when keys are required (any key configured, or a keys file given). */
  get enabled(): boolean {
    return this.path !== undefined || this.legacy.length > 0;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The owner of a presented key, or undefined. Constant time in the key and the match. */
  identify(presented: string): KeyOwner | undefined {
    const given = sha256(presented);
    let found: KeyEntry | undefined;
    for (const entry of this.entries) {
      const equal = timingSafeEqual(entry.digest, given);
      // No early exit: every entry is compared whatever matched.
      found = equal ? entry : found;
    }
    return found && { tenant: found.tenant, role: found.role, label: found.label };
  }

  /** The tenant's limits: its entry in the keys file over the `--tenant-*` defaults. */
  limitsFor(tenant: string, defaults: TenantLimits): TenantLimits {
    const own = this.tenants.get(tenant);
    return own ? { ...defaults, ...own } : defaults;
  }

  /** Re-reads the keys file; on error the keys in use stay and the error is thrown. */
  reload(): void {
    if (this.path === undefined) return;
    const file = loadKeysFile(this.path);
    this.entries = [...this.legacy, ...file.entries];
    this.tenants = file.tenants;
    try {
      this.mtimeMs = statSync(this.path).mtimeMs;
    } catch {
      this.mtimeMs = 0;
    }
  }

  /**
   * Re-reads the file whenever it changes (a Kubernetes Secret volume is updated in place),
   * checked every `intervalMs`. A file that became invalid is reported and the old keys stay.
   */
  watch(intervalMs: number, onReload: (error: Error | undefined) => void): void {
    if (this.path === undefined || this.watcher) return;
    const path = this.path;
    this.watcher = setInterval(() => {
      let mtimeMs: number;
      try {
        mtimeMs = statSync(path).mtimeMs;
      } catch {
        return;
      }
      if (mtimeMs === this.mtimeMs) return;
      this.mtimeMs = mtimeMs;
      try {
        this.reload();
        onReload(undefined);
      } catch (error) {
        onReload(error instanceof Error ? error : new Error(String(error)));
      }
    }, intervalMs);
    this.watcher.unref();
  }

  close(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }
}
