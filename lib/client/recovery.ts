import type { Socket } from 'node:net';
import type { Ejection } from './ejection.js';
import { backoffDelay } from './retry.js';

/** What {@link Recovery} needs from its endpoint. */
export interface Recoverable {
  /** Aborted when the endpoint is removed or the client closes: a probe under way stops. */
  readonly signal: AbortSignal;
  /** Ejected or draining: probes are wanted. */
  readonly down: boolean;
  /** Healthy, no connection open after failures, nothing opening, other endpoints to use meanwhile. */
  readonly wantsReconnect: boolean;
  /** Opens a connection and runs the probe on it (see `runProbe`). */
  probe(signal: AbortSignal): Promise<Socket>;
  /** The probe passed: keep its connection, take the endpoint back. */
  readmit(socket: Socket): void;
  probeFailed(error: Error, nextDelayMs: number): void;
  /** Opens a connection, with the usual retries. */
  reconnect(): void;
}

/**
 * How an endpoint comes back. Ejected or draining, it is probed after the ejection back-off
 * (doubled after each failed probe) until a probe passes. Healthy but left with no connection
 * after failures, it gets no new requests while other endpoints take them, so it reconnects by
 * itself after the connection back-off (`retryBaseMs` times its failures): it either comes
 * back, or fails until it is ejected and probed from then on.
 */
export class Recovery {
  private probeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly endpoint: Recoverable,
    private readonly ejection: Ejection,
    private readonly retryBaseMs: number,
  ) {}

  /** Probes after the back-off (replacing a probe already due). */
  scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(), this.ejection.nextProbeDelayMs());
    // Recovery alone must not keep a process alive.
    this.probeTimer.unref();
  }

  /** Reconnects after the back-off, when the endpoint wants it and no reconnect is due. */
  reconnectLater(): void {
    if (this.reconnectTimer !== undefined || !this.endpoint.wantsReconnect) return;
    const delayMs = backoffDelay(this.ejection.consecutiveFailures, this.retryBaseMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.endpoint.wantsReconnect) this.endpoint.reconnect();
    }, delayMs);
    this.reconnectTimer.unref();
  }

  /** Cancels whatever is due. */
  cancel(): void {
    clearTimeout(this.probeTimer);
    clearTimeout(this.reconnectTimer);
    this.probeTimer = undefined;
    this.reconnectTimer = undefined;
  }

  private async probe(): Promise<void> {
    this.probeTimer = undefined;
    const signal = this.endpoint.signal;
    let socket: Socket;
    try {
      socket = await this.endpoint.probe(signal);
    } catch (error) {
      if (signal.aborted || !this.endpoint.down) return;
      this.ejection.probeFailed();
      this.endpoint.probeFailed(error as Error, this.ejection.nextProbeDelayMs());
      return this.scheduleProbe();
    }
    if (signal.aborted || !this.endpoint.down) return void socket.destroy();
    this.endpoint.readmit(socket);
  }
}
