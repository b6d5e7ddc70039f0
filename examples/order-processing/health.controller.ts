import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { AtomicQueuesHealthIndicator } from '@nestjs/atomic-queues';
import { APP_CONFIG, type AppConfig } from './config.js';

export interface HealthReport {
  status: 'ok';
  node: string;
  pid: number;
  uptimeS: number;
  memory: NodeJS.MemoryUsage;
}

/**
 * `GET /health`: the node's figures. `GET /health/live` and `GET /health/ready`: the probes of an orchestrator
 * (terminus; 200 with every check `up`, 503 naming the failed ones). Liveness: the engine's loops run.
 * Readiness: not shutting down, Redis answers PING, this node's heartbeats are fresh, the loops run.
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly queues: AtomicQueuesHealthIndicator,
  ) {}

  @Get()
  info(): HealthReport {
    return { status: 'ok', node: this.config.nodeId, pid: process.pid, uptimeS: Math.round(process.uptime()), memory: process.memoryUsage() };
  }

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.queues.isAlive()]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.queues.isReady()]);
  }
}
