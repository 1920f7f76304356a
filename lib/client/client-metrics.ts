import type { Logger } from '@nestjs/common';
import {
  NOOP_CLIENT_METRICS_RECORDER,
  createClientMetricsRecorder,
  openMetricsServer,
  type ClientMetricsRecorder,
  type MetricsServerHandle,
} from '../metrics/index.js';
import type { ResolvedClientOptions } from '../options/index.js';

/**
 * The metrics side of one `ArrpcClient`: its recorder, built once (the no-op one with metrics
 * off), and its share of the standalone `/metrics` listener when `metricsPort` asks for one.
 * The listener is opened by `connect()` or the first call, and given back by `close()`.
 */
export class ClientMetrics {
  /** What the endpoints record into. */
  readonly recorder: ClientMetricsRecorder;
  /** `undefined` when no listener is asked for: nothing to open. */
  private readonly port: number | undefined;
  /** The share being opened or held; `undefined` before the first use and after `close()`. */
  private listener: Promise<MetricsServerHandle> | undefined;
  private handle: MetricsServerHandle | undefined;
  /** The latest opening failed: `connect()` tries again, calls do not. */
  private failed = false;
  /** After `close()`, calls open nothing (they fail anyway) until `connect()`. */
  private closed = false;

  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly logger: Logger,
  ) {
    const { metrics, registry, metricsHistogram, metricsMaxErrorReasons, metricsPort } = options;
    this.recorder = metrics
      ? createClientMetricsRecorder({ registry, histogram: metricsHistogram, maxErrorReasons: metricsMaxErrorReasons })
      : NOOP_CLIENT_METRICS_RECORDER;
    this.port = metrics ? metricsPort : undefined;
  }

  /** The listener's port (the one picked when `metricsPort` is 0) while this client holds a share. */
  get listenerPort(): number | undefined {
    return this.handle?.port;
  }

  /**
   * Opens (or joins) the listener unless this client holds a share or is opening one. Rejects
   * when it cannot (port taken, another registry on it): `connect()` tells its caller so.
   */
  open(): Promise<void> {
    if (this.port === undefined) return Promise.resolve();
    this.closed = false;
    if (this.listener === undefined || this.failed) {
      const listener = openMetricsServer({ port: this.port, registry: this.options.registry });
      this.listener = listener;
      this.failed = false;
      listener.then(
        (handle) => {
          // After close() the share is close()'s to give back.
          if (this.listener === listener) this.handle = handle;
        },
        () => {
          if (this.listener === listener) this.failed = true;
        },
      );
    }
    return this.listener.then(() => undefined);
  }

  /** {@link open} for a call, which must not fail over a metrics endpoint: a failure is logged, once. */
  openForCall(): void {
    if (this.port === undefined || this.listener !== undefined || this.closed) return;
    this.open().catch((error: Error) =>
      this.logger.error(`cannot serve /metrics on port ${this.port}: ${error.message}`),
    );
  }

  /** Gives this client's share back; the listener closes with the last one. */
  async close(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    this.handle = undefined;
    this.failed = false;
    this.closed = true;
    if (listener === undefined) return;
    const handle = await listener.catch(() => undefined);
    await handle?.close();
  }
}
