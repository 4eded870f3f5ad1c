import { readFileSync } from 'node:fs';
import type { RedisClient } from './connection.ts';

/**
 * The Lua scripts, one file per multi-key change (STYLE: Redis as a product's state). Each
 * is read once at load and registered on a client with defineCommand, so ioredis sends
 * EVALSHA (EVAL once per connection) and the number of keys is fixed: Cluster routing and
 * auto-pipelining find the slot from the first key.
 */
const SCRIPTS = {
  upsertWorkflow: { file: 'upsert-workflow.lua', keys: 1 },
  applyEvents: { file: 'apply-events.lua', keys: 1 },
  claimPin: { file: 'claim-pin.lua', keys: 1 },
  movePin: { file: 'move-pin.lua', keys: 1 },
  removeWorkflow: { file: 'remove-workflow.lua', keys: 3 },
  appendContext: { file: 'append-context.lua', keys: 2 },
  sendMessage: { file: 'send-message.lua', keys: 4 },
  sendMessages: { file: 'send-messages.lua', keys: 2 },
  readMessages: { file: 'read-messages.lua', keys: 3 },
  inboxDepth: { file: 'inbox-depth.lua', keys: 3 },
  indexUpsert: { file: 'index-upsert.lua', keys: 6 },
  indexRemove: { file: 'index-remove.lua', keys: 7 },
  evictionCandidate: { file: 'eviction-candidate.lua', keys: 1 },
  tenantAcquireCall: { file: 'tenant-acquire-call.lua', keys: 2 },
  tenantReserveMessage: { file: 'tenant-reserve-message.lua', keys: 1 },
  markDelivered: { file: 'mark-delivered.lua', keys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

const SOURCES = new Map<ScriptName, string>(
  (Object.keys(SCRIPTS) as ScriptName[]).map((name) => [
    name,
    readFileSync(new URL(`./scripts/${SCRIPTS[name].file}`, import.meta.url), 'utf8'),
  ]),
);

/** Registers every script on a client (idempotent per client). */
export function defineScripts(client: RedisClient): void {
  for (const [name, lua] of SOURCES) client.defineCommand(name, { numberOfKeys: SCRIPTS[name].keys, lua });
}

type ScriptFunction = (...args: string[]) => Promise<unknown>;

/** Runs a registered script; `keys` must all carry the same hash tag. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  if (keys.length !== SCRIPTS[name].keys) throw new Error(`${name} takes ${SCRIPTS[name].keys} keys`);
  const fn = (client as unknown as Record<ScriptName, ScriptFunction>)[name];
  return fn.apply(client, [...keys, ...args]);
}
