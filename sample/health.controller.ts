import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
// In your app: from 'nestjs-arrpc' and 'nestjs-arrpc/terminus'.
import type { ArrpcClient } from '../lib/index.js';
import { ArrpcHealthIndicator } from '../lib/terminus/index.js';

/** The token of the client aimed at the sample's own arrpc server (`selfClientOptions`). */
export const SAMPLE_SELF_CLIENT = 'SAMPLE_SELF_CLIENT';

/**
 * GET /health: a real round trip (`arrpc.ping`) to this process's own arrpc server. 200 while it
 * answers; 503 when it does not, or drains. It does not check the upstream, so a liveness probe
 * on it never restarts a pod because another one is down.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly arrpc: ArrpcHealthIndicator,
    @Inject(SAMPLE_SELF_CLIENT) private readonly self: ArrpcClient,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.arrpc.pingCheck('arrpc', this.self)]);
  }
}
