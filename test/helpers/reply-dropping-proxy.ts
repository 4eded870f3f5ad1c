// A TCP proxy between a client and Redis that can lose one reply: the request is forwarded
// whole, Redis runs it, and both connections are cut the moment the answer comes back, before
// the client sees a byte of it. That is the boundary where a store cannot know whether its
// command ran (a Redis that dies, or a network that fails, between executing and replying).
import { createServer, connect, type Server, type Socket } from 'node:net';

export class ReplyDroppingProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private marker: Buffer | undefined;
  private onCut: (() => void) | undefined;

  private constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => this.pair(client, connect(target)));
  }

  /** Listens on a free port and forwards each connection to `target`. */
  static async start(target: { host: string; port: number }): Promise<ReplyDroppingProxy> {
    const proxy = new ReplyDroppingProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  /**
   * Arms the proxy: the next request whose bytes contain `marker` reaches Redis, and the
   * connection is cut when Redis replies. Resolves once the reply was dropped.
   */
  loseReplyTo(marker: string): Promise<void> {
    this.marker = Buffer.from(marker);
    return new Promise((resolve) => (this.onCut = resolve));
  }

  private pair(client: Socket, upstream: Socket): void {
    this.sockets.add(client).add(upstream);
    let cutOnReply = false;
    client.on('data', (chunk: Buffer) => {
      if (this.marker && chunk.includes(this.marker)) {
        this.marker = undefined;
        cutOnReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutOnReply) {
        client.write(chunk);
        return;
      }
      client.destroy();
      upstream.destroy();
      this.onCut?.();
      this.onCut = undefined;
    });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
