// Real loopback sockets for tests that play a hostile or hand-written peer: write forged bytes,
// read exactly what comes back, and observe closes. No mocks (STYLE.md section 7).
import * as net from 'node:net';
import * as tls from 'node:tls';

/** Bytes, or a hex string such as `'81a3666f6f'` (whitespace allowed). */
export type Bytes = Uint8Array | string;

/** Default wait of the read helpers, in milliseconds. */
export const DEFAULT_SOCKET_WAIT_MS = 2000;

/** `Bytes` as a Buffer (hex strings decoded). */
export function toBytes(data: Bytes): Buffer {
  if (typeof data !== 'string') return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const hex = data.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error(`not a hex string: ${data}`);
  return Buffer.from(hex, 'hex');
}

/** A client socket that buffers everything it receives until a test reads it. */
export class RawSocket {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private waiters = new Set<() => void>();

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.size += chunk.length;
      this.wake();
    });
    // A reset is a close too; tests assert on the close, not on the error.
    socket.on('error', () => {});
    socket.on('end', () => this.markEnded());
    socket.on('close', () => this.markEnded());
  }

  /** True once the peer closed (FIN or reset). */
  get closed(): boolean {
    return this.ended;
  }

  /** Writes `data`; resolves when Node has handed it to the kernel. */
  write(data: Bytes): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(toBytes(data), (err) => (err ? reject(err) : resolve())));
  }

  /** Exactly `n` bytes; rejects, naming what did arrive, on timeout or when the peer closes first. */
  async readBytes(n: number, timeoutMs = DEFAULT_SOCKET_WAIT_MS): Promise<Buffer> {
    const ok = await this.waitFor(() => this.size >= n || this.ended, timeoutMs);
    if (this.size < n) {
      const why = ok ? 'peer closed' : `timed out after ${timeoutMs} ms`;
      throw new Error(`expected ${n} bytes, ${why} with ${this.size}: ${this.peek().toString('hex')}`);
    }
    return this.take(n);
  }

  /** Waits `waitMs`, then returns every byte received and not yet read (possibly none). */
  async readAvailable(waitMs: number): Promise<Buffer> {
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    return this.take(this.size);
  }

  /** Resolves true if the peer closed within `timeoutMs`, false otherwise. */
  waitClosed(timeoutMs = DEFAULT_SOCKET_WAIT_MS): Promise<boolean> {
    return this.waitFor(() => this.ended, timeoutMs);
  }

  /** Half-closes (sends FIN) and resolves once it is flushed; reading stays possible. */
  end(): Promise<void> {
    return new Promise((resolve) => this.socket.end(resolve));
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private peek(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }

  private take(n: number): Buffer {
    const all = this.peek();
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return all.subarray(0, n);
  }

  private markEnded(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  private waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(result);
      };
      const check = (): void => {
        if (done()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
    });
  }
}

/** Options of {@link connectRaw}. */
export interface RawConnectOptions {
  /** Connect with TLS using these options (`host` and `port` are filled in). */
  readonly tls?: tls.ConnectionOptions;
}

/** Opens a TCP (or TLS) connection; resolves once connected (handshake done for TLS). */
export function connectRaw(port: number, host = '127.0.0.1', options: RawConnectOptions = {}): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tls.connect({ ...options.tls, port, host }, () => done())
      : net.connect({ port, host }, () => done());
    const done = (): void => {
      socket.off('error', reject);
      resolve(new RawSocket(socket));
    };
    socket.once('error', reject);
  });
}

/** Listens on `host`, on `port` (0: one the OS chooses); resolves with the port. */
export function listen(server: net.Server, host = '127.0.0.1', port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * Closes `server` and destroys `sockets` (its accepted connections, which `server.close()` alone
 * waits for); resolves when the server has closed.
 */
export function freeServerClose(server: net.Server, sockets: Iterable<net.Socket> = []): Promise<void> {
  return new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** A loopback port with nothing listening on it (bound, read, released), for refused connects. */
export async function unusedPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, host);
  await freeServerClose(server);
  return port;
}
