// Real redis-server processes for tests: free ports, temp dirs, no persistence, and always
// cleaned up (stop() in after() hooks, and a SIGKILL of every child when the process exits,
// so a failing test never leaves a server behind). Never touches the machine's Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Sends PING over a raw socket; true when the server answers +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

interface Process {
  child: ChildProcess;
  log: string[];
}

function spawnServer(port: number, dir: string, args: readonly string[]): Process {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log: string[] = [];
  const keep = (chunk: Buffer): void => {
    log.push(chunk.toString());
    if (log.length > 50) log.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { child, log };
}

async function startProcess(port: number, dir: string, args: readonly string[]): Promise<Process> {
  const proc = spawnServer(port, dir, args);
  try {
    await waitFor(`redis-server on port ${port}`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`redis-server exited:\n${proc.log.join('')}`);
      return ping(port);
    });
  } catch (error) {
    proc.child.kill('SIGKILL');
    throw error;
  }
  return proc;
}

export interface RedisServer {
  url: string;
  port: number;
  /** Shuts the server down and removes its directory. */
  stop(): Promise<void>;
  /** SIGKILL: Redis vanishes as in a crash; restart() brings it back on the same port. */
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** Starts a standalone redis-server on a free port with no persistence. */
export async function startRedis(opts: { args?: string[] } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wr-redis-'));
  const args = opts.args ?? [];
  let proc: Process | undefined = await startProcess(port, dir, args);
  const kill = async (): Promise<void> => {
    const current = proc;
    proc = undefined;
    if (!current) return;
    current.child.kill('SIGKILL');
    await exited(current.child);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      await kill();
      proc = await startProcess(port, dir, args);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisSentinelServer {
  port: number;
  /** The master group name the sentinel monitors. */
  name: string;
  stop(): Promise<void>;
}

/** Starts a Sentinel (redis-server --sentinel) that monitors `master` as group `name`. */
export async function startRedisSentinel(
  master: RedisServer,
  name = 'wr-master',
): Promise<RedisSentinelServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wr-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 5000`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`sentinel on port ${port}`, async () => {
      if (child.exitCode !== null) throw new Error('redis-server --sentinel exited');
      return ping(port);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, name, stop };
}

export interface RedisClusterServers {
  nodes: { host: string; port: number }[];
  urls: string[];
  stop(): Promise<void>;
}

/** Starts `masters` cluster-enabled servers and joins them into one cluster (no replicas). */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const dir = mkdtempSync(join(tmpdir(), 'wr-redis-cluster-'));
  const procs: Process[] = [];
  const ports: number[] = [];
  const stop = async (): Promise<void> => {
    for (const proc of procs) proc.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => exited(p.child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      procs.push(
        await startProcess(port, dir, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '5000',
        ]),
      );
    }
    const create = spawn(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    create.stdout.on('data', (d: Buffer) => (output += d.toString()));
    create.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => create.once('exit', resolve));
    if (code !== 0) throw new Error(`redis-cli --cluster create failed:\n${output}`);
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        const states = await Promise.all(
          ports.map(async (port) => {
            const client = new Redis({
              port,
              host: '127.0.0.1',
              lazyConnect: true,
              retryStrategy: () => null,
            });
            try {
              await client.connect();
              const info = await client.cluster('INFO');
              return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`);
            } catch {
              return false;
            } finally {
              client.disconnect();
            }
          }),
        );
        return states.every(Boolean);
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    urls: ports.map((port) => `redis://127.0.0.1:${port}`),
    stop,
  };
}

/**
 * Commands the server has executed so far (INFO commandstats, INFO itself excluded): the
 * difference across an operation is the number of commands it cost.
 */
export async function commandCount(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

/** Every key matching `pattern` on a standalone server or on all masters of a cluster. */
export async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return found.sort();
}
