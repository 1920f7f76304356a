// A client that reads answers the way the Python arrpc 0.5.0 client does (recv(4096) until a
// short read), to test what a Python caller would see from our server: an answer whose length is
// a multiple of 4096 is never seen complete, and a closed connection reads as nothing.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { PYTHON_RECV_SIZE } from './python-peer.js';
import { DEFAULT_SOCKET_WAIT_MS, toBytes, type Bytes } from './sockets.js';

/** The raw answer bytes, `'timeout'` when no short read came in time, `'closed'` when the server
 *  closed without sending anything (the Python client then returns None). */
export type PythonCallResult = Buffer | 'timeout' | 'closed';

/** Options of {@link PythonStyleClient.connect} and {@link pythonStyleCall}. */
export interface PythonStyleClientOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Connect with TLS using these options. */
  readonly tls?: tls.ConnectionOptions;
}

/** One connection reused for sequential calls, as `arrpc.Client` keeps one. After a `'timeout'`
 *  the connection is out of step: close it. */
export class PythonStyleClient {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.size += chunk.length;
      this.wake?.();
    });
    socket.on('error', () => {});
    socket.on('end', () => this.markEnded());
    socket.on('close', () => this.markEnded());
  }

  /** Connects to `port`; resolves once connected (handshake done for TLS). */
  static connect(port: number, options: PythonStyleClientOptions = {}): Promise<PythonStyleClient> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const socket = options.tls ? tls.connect({ ...options.tls, port, host }, done) : net.connect({ port, host }, done);
      function done(): void {
        socket.off('error', reject);
        resolve(new PythonStyleClient(socket));
      }
      socket.once('error', reject);
    });
  }

  /** Writes `bytes` in one write, then reads until a short read, the server closing, or `timeoutMs`. */
  async call(bytes: Bytes, timeoutMs = DEFAULT_SOCKET_WAIT_MS): Promise<PythonCallResult> {
    if (!this.ended) this.socket.write(toBytes(bytes));
    const complete = (): boolean => this.ended || (this.size > 0 && this.size % PYTHON_RECV_SIZE !== 0);
    const inTime = await new Promise<boolean>((resolve) => {
      if (complete()) return resolve(true);
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (result: boolean): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(result);
      };
      this.wake = () => complete() && finish(true);
    });
    if (!inTime) return 'timeout';
    if (this.size === 0) return 'closed';
    const answer = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    return answer;
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }

  private markEnded(): void {
    this.ended = true;
    this.wake?.();
  }
}

/** One call on a fresh connection, closed afterwards. */
export async function pythonStyleCall(
  port: number,
  bytes: Bytes,
  timeoutMs = DEFAULT_SOCKET_WAIT_MS,
  options: PythonStyleClientOptions = {},
): Promise<PythonCallResult> {
  const client = await PythonStyleClient.connect(port, options);
  try {
    return await client.call(bytes, timeoutMs);
  } finally {
    client.close();
  }
}
