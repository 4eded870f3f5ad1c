import { keyString, parseKeyString, type WorkflowKey } from './ids.ts';

/**
 * The Redis keyspace (DESIGN section 6): the one module that builds key and channel names.
 *
 * Every key of a workflow carries the hash tag `{wf:<tenant>/<id>}`, so the workflow lives
 * in one Redis Cluster slot and a Lua script may change all of its keys atomically:
 *
 *   <prefix>{wf:<tenant>/<id>}:record                 HASH   declaration, pin, counters, agents
 *   <prefix>{wf:<tenant>/<id>}:context                LIST   shared-context entries (JSON)
 *   <prefix>{wf:<tenant>/<id>}:inboxes                SET    agents that have an inbox
 *   <prefix>{wf:<tenant>/<id>}:inbox:<agent>          STREAM one agent's messages
 *   <prefix>{wf:<tenant>/<id>}:inbox-expiry:<agent>   ZSET   message id -> expiresAt
 *
 * The fleet-wide indexes share the hash tag `{fleet}`: one slot, so an index update is one
 * script too, but never in the same script as a workflow's keys (see fleet-index.ts):
 *
 *   <prefix>{fleet}:activity     ZSET   workflow -> lastActiveAt (LRU eviction order)
 *   <prefix>{fleet}:expiry       ZSET   workflow -> lower bound of expiresAt (TTL sweep)
 *   <prefix>{fleet}:pins         HASH   workflow -> pinned pod
 *   <prefix>{fleet}:pin-seqs     HASH   workflow -> version of the indexed pin
 *   <prefix>{fleet}:pin-counts   HASH   pod -> live workflows pinned to it
 *   <prefix>{fleet}:stats        HASH   evicted, expired (fleet-wide counters)
 *   <prefix>{fleet}:tenant-live  HASH   tenant -> live workflows (follows the activity index)
 *
 * Per-tenant quotas (quotas.ts) share the hash tag `{tenant:<tenant>}`:
 *
 *   <prefix>{tenant:<tenant>}:rate      STRING theoretical arrival time of the next call (GCRA)
 *   <prefix>{tenant:<tenant>}:calls     ZSET   call lease -> expiresAt (calls in flight)
 *   <prefix>{tenant:<tenant>}:messages  ZSET   <workflow>/<agent>/<n> -> expiresAt (queued messages)
 *
 * The routing table (routing-table-store.ts) shares the hash tag `{routing}`:
 *
 *   <prefix>{routing}:pools      HASH   <namespace>/<pool> -> RoutingPool JSON
 *   <prefix>{routing}:meta       HASH   version, updatedAt
 *
 * Pub/sub: <prefix>invalidations carries near-cache invalidations between replicas;
 * <prefix>routing announces each new routing-table version.
 * Workflows appear in the fleet indexes as `keyString(key)` (`<tenant>/<id>`).
 */
export class RedisKeys {
  readonly prefix: string;

  constructor(prefix = 'wr:') {
    if (/[{}]/.test(prefix)) throw new Error(`redis prefix must not contain braces: ${prefix}`);
    this.prefix = prefix;
  }

  /** The Cluster hash tag of a workflow: all of its keys hash to this slot. */
  workflowTag(key: WorkflowKey): string {
    const id = keyString(key);
    if (/[{}]/.test(id)) throw new Error(`workflow key must not contain braces: ${id}`);
    return `{wf:${id}}`;
  }

  /** Prefix shared by every key of one workflow (for SCAN in tests and tools). */
  workflowPrefix(key: WorkflowKey): string {
    return `${this.prefix}${this.workflowTag(key)}:`;
  }

  record(key: WorkflowKey): string {
    return `${this.workflowPrefix(key)}record`;
  }

  context(key: WorkflowKey): string {
    return `${this.workflowPrefix(key)}context`;
  }

  inboxes(key: WorkflowKey): string {
    return `${this.workflowPrefix(key)}inboxes`;
  }

  /** Scripts that remove a workflow derive its inbox keys as inboxPrefix + agent. */
  inboxPrefix(key: WorkflowKey): string {
    return `${this.workflowPrefix(key)}inbox:`;
  }

  inboxExpiryPrefix(key: WorkflowKey): string {
    return `${this.workflowPrefix(key)}inbox-expiry:`;
  }

  inbox(key: WorkflowKey, agent: string): string {
    return `${this.inboxPrefix(key)}${agent}`;
  }

  inboxExpiry(key: WorkflowKey, agent: string): string {
    return `${this.inboxExpiryPrefix(key)}${agent}`;
  }

  /** How a workflow is named inside the fleet indexes and invalidation messages. */
  member(key: WorkflowKey): string {
    return keyString(key);
  }

  parseMember(member: string): WorkflowKey {
    return parseKeyString(member);
  }

  private fleet(name: string): string {
    return `${this.prefix}{fleet}:${name}`;
  }

  get activity(): string {
    return this.fleet('activity');
  }

  get expiry(): string {
    return this.fleet('expiry');
  }

  get pins(): string {
    return this.fleet('pins');
  }

  get pinSeqs(): string {
    return this.fleet('pin-seqs');
  }

  get pinCounts(): string {
    return this.fleet('pin-counts');
  }

  get stats(): string {
    return this.fleet('stats');
  }

  get tenantLive(): string {
    return this.fleet('tenant-live');
  }

  private tenant(tenant: string, name: string): string {
    if (/[{}]/.test(tenant)) throw new Error(`tenant must not contain braces: ${tenant}`);
    return `${this.prefix}{tenant:${tenant}}:${name}`;
  }

  tenantRate(tenant: string): string {
    return this.tenant(tenant, 'rate');
  }

  tenantCalls(tenant: string): string {
    return this.tenant(tenant, 'calls');
  }

  tenantMessages(tenant: string): string {
    return this.tenant(tenant, 'messages');
  }

  get invalidations(): string {
    return `${this.prefix}invalidations`;
  }

  private routing(name: string): string {
    return `${this.prefix}{routing}:${name}`;
  }

  get routingPools(): string {
    return this.routing('pools');
  }

  get routingMeta(): string {
    return this.routing('meta');
  }

  /** Announces each new routing-table version (the message is the version). */
  get routingChannel(): string {
    return `${this.prefix}routing`;
  }
}
