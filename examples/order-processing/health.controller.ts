import { Controller, Get, Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from './config.js';

export interface HealthReport {
  status: 'ok';
  node: string;
  pid: number;
  uptimeS: number;
  memory: NodeJS.MemoryUsage;
}

@Controller('health')
export class HealthController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  health(): HealthReport {
    return { status: 'ok', node: this.config.nodeId, pid: process.pid, uptimeS: Math.round(process.uptime()), memory: process.memoryUsage() };
  }
}
