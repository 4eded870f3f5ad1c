// The KV block pool as vLLM's prefix caching manages it (v1 KVCacheManager):
// - a block is referenced while a running request uses it, and can't be evicted then;
// - a full block whose KV has been computed is registered under its chained hash and stays
//   findable after its requests finish, until its slot is reused;
// - unreferenced blocks wait in one free queue ordered least recently used first; taking
//   a slot evicts the queue's head. A request's blocks are queued in reverse order on
//   release, so a prefix's tail is evicted before its head (a parent stays as long as
//   any child could still be hit). Slots without a hash go to the front: nothing to lose.

const NONE = -1;

/** Counters the pod exports. */
export interface KvCacheCounters {
  evictions: number;
}

export class KvCache {
  readonly totalBlocks: number;
  readonly blockSize: number;
  readonly counters: KvCacheCounters = { evictions: 0 };

  readonly #hashOf: Float64Array;
  readonly #refs: Int32Array;
  // Intrusive doubly linked free queue; index `totalBlocks` is the sentinel.
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  #freeCount = 0;
  readonly #byHash = new Map<number, number>();

  constructor(totalBlocks: number, blockSize: number) {
    if (!Number.isInteger(totalBlocks) || totalBlocks < 1) throw new RangeError('totalBlocks must be >= 1');
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError('blockSize must be >= 1');
    this.totalBlocks = totalBlocks;
    this.blockSize = blockSize;
    this.#hashOf = new Float64Array(totalBlocks).fill(NONE);
    this.#refs = new Int32Array(totalBlocks);
    this.#prev = new Int32Array(totalBlocks + 1);
    this.#next = new Int32Array(totalBlocks + 1);
    const s = totalBlocks;
    this.#prev[s] = s;
    this.#next[s] = s;
    for (let b = 0; b < totalBlocks; b++) this.#pushBack(b);
  }

  /** Blocks not referenced by any running request (including cached ones). */
  get freeBlocks(): number {
    return this.#freeCount;
  }

  /** Blocks referenced by running requests. */
  get usedBlocks(): number {
    return this.totalBlocks - this.#freeCount;
  }

  /** Blocks that hold a registered prefix (referenced or not). */
  get residentBlocks(): number {
    return this.#byHash.size;
  }

  /** Fraction of blocks in use, as `vllm:kv_cache_usage_perc` reports it (0..1). */
  get usage(): number {
    return this.usedBlocks / this.totalBlocks;
  }

  /** Whether a block with this hash is resident. */
  has(hash: number): boolean {
    return this.#byHash.has(hash);
  }

  /** Length of the run of resident blocks at the start of `hashes`, at most `limit`. */
  matchPrefix(hashes: readonly number[], limit = hashes.length): number {
    const end = Math.min(limit, hashes.length);
    let n = 0;
    while (n < end && this.#byHash.has(hashes[n] as number)) n++;
    return n;
  }

  /**
   * References the resident blocks `hashes[0, cached)` and takes `fresh` new slots, all or
   * nothing. Returns the block ids in sequence order, or null when there is no room.
   */
  allocate(hashes: readonly number[], cached: number, fresh: number): number[] | null {
    let reclaimedFromFree = 0;
    for (let i = 0; i < cached; i++) {
      const id = this.#byHash.get(hashes[i] as number);
      if (id === undefined) throw new Error('allocate: prefix block is not resident');
      if (this.#refs[id] === 0) reclaimedFromFree++;
    }
    if (reclaimedFromFree + fresh > this.#freeCount) return null;
    const blocks: number[] = [];
    for (let i = 0; i < cached; i++) {
      const id = this.#byHash.get(hashes[i] as number) as number;
      if (this.#refs[id] === 0) this.#unlink(id);
      this.#refs[id] = (this.#refs[id] ?? 0) + 1;
      blocks.push(id);
    }
    for (let i = 0; i < fresh; i++) blocks.push(this.#take());
    return blocks;
  }

  /** One new slot (a decode step crossing a block boundary), or null when all are in use. */
  allocateOne(): number | null {
    return this.#freeCount > 0 ? this.#take() : null;
  }

  /**
   * Registers a block whose KV is now computed under its prefix hash. When another block
   * already holds that prefix (two identical prompts prefilling together) the first one
   * stays the cached copy, as in vLLM.
   */
  register(block: number, hash: number): void {
    if (this.#hashOf[block] !== NONE || this.#byHash.has(hash)) return;
    this.#hashOf[block] = hash;
    this.#byHash.set(hash, block);
  }

  /** Drops one reference from each block of a finished or aborted request. */
  release(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const id = blocks[i] as number;
      const refs = (this.#refs[id] ?? 0) - 1;
      if (refs < 0) throw new Error(`release: block ${id} is not referenced`);
      this.#refs[id] = refs;
      if (refs > 0) continue;
      if (this.#hashOf[id] === NONE) this.#pushFront(id);
      else this.#pushBack(id);
    }
  }

  /** Forgets every cached prefix (a cold restart); blocks in use stay allocated. */
  clear(): void {
    for (const id of this.#byHash.values()) this.#hashOf[id] = NONE;
    this.#byHash.clear();
  }

  /** Hashes of the resident blocks, least recently used first among the unreferenced. */
  residentHashes(): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    const s = this.totalBlocks;
    for (let id = this.#next[s] as number; id !== s; id = this.#next[id] as number) {
      const h = this.#hashOf[id] as number;
      if (h !== NONE) {
        out.push(h);
        seen.add(id);
      }
    }
    for (const [hash, id] of this.#byHash) if (!seen.has(id)) out.push(hash);
    return out;
  }

  /** Reference count of a block (for tests and invariants). */
  refCount(block: number): number {
    return this.#refs[block] ?? 0;
  }

  #take(): number {
    const s = this.totalBlocks;
    const id = this.#next[s] as number;
    if (id === s) throw new Error('take: no free block');
    this.#unlink(id);
    const h = this.#hashOf[id] as number;
    if (h !== NONE) {
      this.#byHash.delete(h);
      this.#hashOf[id] = NONE;
      this.counters.evictions++;
    }
    this.#refs[id] = 1;
    return id;
  }

  #unlink(id: number): void {
    const p = this.#prev[id] as number;
    const n = this.#next[id] as number;
    this.#next[p] = n;
    this.#prev[n] = p;
    this.#freeCount--;
  }

  #pushBack(id: number): void {
    const s = this.totalBlocks;
    const last = this.#prev[s] as number;
    this.#next[last] = id;
    this.#prev[id] = last;
    this.#next[id] = s;
    this.#prev[s] = id;
    this.#freeCount++;
  }

  #pushFront(id: number): void {
    const s = this.totalBlocks;
    const first = this.#next[s] as number;
    this.#prev[first] = id;
    this.#next[id] = first;
    this.#prev[id] = s;
    this.#next[s] = id;
    this.#freeCount++;
  }
}
