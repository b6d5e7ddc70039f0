import { Module, type DynamicModule } from '@nestjs/common';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule } from '@bull-board/nestjs';
import { DashboardController } from './dashboard.controller.js';
import { Redis } from 'ioredis';
import { DASHBOARD_MAX_QUEUES, DASHBOARD_OPTIONS, DASHBOARD_REDIS, EntityBoard, type DashboardOptions } from './entity-board.js';

/** Where bull-board's UI is served. */
export const DASHBOARD_ROUTE = '/queues';

/**
 * bull-board on `/queues`, with entity queues registered on demand by `GET /dashboard/entities/:type/:id` (see
 * EntityBoard). Redis mode only: bull-board reads BullMQ's keys in Redis.
 */
@Module({})
export class DashboardModule {
  static forRoot(options: { redisUrl: string; keyPrefix: string; maxQueues?: number }): DynamicModule {
    return {
      module: DashboardModule,
      imports: [BullBoardModule.forRoot({ route: DASHBOARD_ROUTE, adapter: ExpressAdapter })],
      controllers: [DashboardController],
      providers: [
        { provide: DASHBOARD_REDIS, useFactory: () => new Redis(options.redisUrl, { connectionName: `${options.keyPrefix}-dashboard`, maxRetriesPerRequest: 3, lazyConnect: true }) },
        { provide: DASHBOARD_OPTIONS, useValue: { keyPrefix: options.keyPrefix, maxQueues: options.maxQueues ?? DASHBOARD_MAX_QUEUES } satisfies DashboardOptions },
        EntityBoard,
      ],
    };
  }
}
