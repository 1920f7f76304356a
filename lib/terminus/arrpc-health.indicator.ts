import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { ArrpcClient, ArrpcEndpointState } from '../client/index.js';
import { DEFAULT_HEALTH_CHECK_TIMEOUT_MS } from '../constants.js';
import type { ArrpcProbe } from '../options/index.js';
import { HealthChannel, type ProbeOutcome } from './health-channel.js';
import { clientHealthSettings, healthCheck, healthExchange, healthTargets, type ClientHealthSettings, type HealthTarget } from './health-targets.js';

/** Options of {@link ArrpcHealthIndicator.pingCheck}. Every field is optional. */
export interface ArrpcPingCheckOptions {
  /**
   * Milliseconds each endpoint has to answer, connecting included; endpoints are checked at
   * once, so this bounds the whole check. Defaults to 1,000 ({@link DEFAULT_HEALTH_CHECK_TIMEOUT_MS}).
   */
  timeout?: number | undefined;
  /**
   * For a `peer: 'python'` client: the message sent raw and the answer wanted (see the
   * client's `probe` option, which is used when this is left out). A `'nestjs-arrpc'` client
   * is checked with `arrpc.ping` and takes none.
   */
  probe?: ArrpcProbe | undefined;
}

/**
 * How one endpoint did. `up`: it answered as wanted. `draining`: it answered
 * `UnavailableException` (its server is closing), or the client saw it drain and it does not
 * answer. `ejected`: it does not answer and the client took it out after failures. `down`:
 * it does not answer, or answered something else; `message` says what happened.
 */
export type ArrpcEndpointHealthState = 'up' | 'down' | 'draining' | 'ejected';

/** One endpoint in a check's result, keyed by its `host:port`. */
export interface ArrpcEndpointHealth {
  /** `up` only when the round trip succeeded. */
  status: 'up' | 'down';
  state: ArrpcEndpointHealthState;
  /** Why not up. */
  message?: string;
  /** The client's own view of the endpoint (`idle`, `up`, `ejected`, `draining`). */
  clientState: ArrpcEndpointState;
  /** Milliseconds the round trip took. */
  responseTime: number;
}

/** What a check adds under its key besides `status` (a type, so terminus takes it as its data). */
export type ArrpcHealthDetails = {
  /** Every endpoint of the client, by `host:port`. */
  endpoints: Record<string, ArrpcEndpointHealth>;
  /** Which endpoints are not up, and why; absent when all are. */
  message?: string;
};

/**
 * A terminus health indicator for `ArrpcClient`s that makes a real round trip to every
 * endpoint of the client: `arrpc.ping` toward `ArrpcServer`s (`peer: 'nestjs-arrpc'`), the
 * configured probe toward Python servers. A draining server reports down, so a readiness check
 * fails while it drains.
 *
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.arrpc.pingCheck('prices', this.prices, { timeout: 500 })]);
 * }
 * ```
 *
 * Each check talks over a connection of its own per endpoint, kept between checks: a draining
 * server accepts no new connection, and answers `UnavailableException` only on open ones.
 */
@Injectable()
export class ArrpcHealthIndicator implements OnApplicationShutdown {
  private readonly clients = new Map<ArrpcClient, { settings: ClientHealthSettings; channels: Map<string, HealthChannel> }>();

  constructor(private readonly health: HealthIndicatorService) {}

  /**
   * Checks every endpoint of `client` at once. The key is `up` when every endpoint answered,
   * `degraded` when some did, `down` when none did (or the client has no endpoint yet); its
   * `endpoints` names each with its {@link ArrpcEndpointHealth}. Rejects with a `TypeError`
   * for bad options, or a Python client with no probe.
   */
  async pingCheck<const Key extends string>(key: Key, client: ArrpcClient, options: ArrpcPingCheckOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const timeoutMs = checkTimeout(options.timeout);
    const { settings, channels } = this.stateOf(client);
    const exchange = healthExchange(settings, options.probe, timeoutMs);
    const targets = healthTargets(client);
    for (const [address, channel] of channels) {
      if (!targets.some((target) => target.address === address)) {
        channel.close();
        channels.delete(address);
      }
    }
    const entries = await Promise.all(
      targets.map(async (target) => {
        let channel = channels.get(target.address);
        if (channel === undefined) {
          channel = new HealthChannel({ host: target.host, port: target.port, tls: settings.tls });
          channels.set(target.address, channel);
        }
        const started = performance.now();
        const outcome = await channel.check(exchange, timeoutMs);
        return [target.address, describeEndpoint(target, outcome, Math.round(performance.now() - started))] as const;
      }),
    );
    return this.result(key, Object.fromEntries(entries));
  }

  /** Closes the connections the checks keep open. */
  onApplicationShutdown(): void {
    for (const { channels } of this.clients.values()) for (const channel of channels.values()) channel.close();
    this.clients.clear();
  }

  private stateOf(client: ArrpcClient) {
    let state = this.clients.get(client);
    if (state === undefined) {
      state = { settings: clientHealthSettings(client), channels: new Map() };
      this.clients.set(client, state);
    }
    return state;
  }

  private result<Key extends string>(key: Key, endpoints: Record<string, ArrpcEndpointHealth>): HealthIndicatorResult<Key> {
    const session = this.health.check(key);
    const all = Object.entries(endpoints);
    const notUp = all.filter(([, endpoint]) => endpoint.status !== 'up');
    if (notUp.length === 0 && all.length > 0) return session.up<ArrpcHealthDetails>({ endpoints });
    const message =
      all.length === 0
        ? 'the client has no endpoint yet (its first DNS lookup has not answered)'
        : notUp.map(([address, endpoint]) => `${address} ${endpoint.state}: ${endpoint.message}`).join('; ');
    const details: ArrpcHealthDetails = { endpoints, message };
    return notUp.length < all.length ? session.degraded(details) : session.down(details);
  }
}

function describeEndpoint(target: HealthTarget, outcome: ProbeOutcome, responseTime: number): ArrpcEndpointHealth {
  const { clientState } = target;
  if (outcome.state === 'up') return { status: 'up', state: 'up', clientState, responseTime };
  // A server the client saw drain refuses new connections until it is gone: still draining.
  const state = outcome.state === 'draining' || clientState === 'draining' ? 'draining' : clientState === 'ejected' ? 'ejected' : 'down';
  return { status: 'down', state, message: outcome.message, clientState, responseTime };
}

function checkTimeout(timeout: number | undefined): number {
  return healthCheck.milliseconds('timeout', timeout ?? DEFAULT_HEALTH_CHECK_TIMEOUT_MS);
}
