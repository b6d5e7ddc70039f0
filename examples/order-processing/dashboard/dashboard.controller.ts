import { Controller, Get, Param, Redirect } from '@nestjs/common';
import { DASHBOARD_ROUTE } from './dashboard.module.js';
import { EntityBoard } from './entity-board.js';

/** `GET /dashboard/entities/:type/:id`: puts the entity's queue on bull-board and opens its page there. */
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly board: EntityBoard) {}

  @Get('entities/:type/:id')
  @Redirect()
  async entity(@Param('type') type: string, @Param('id') id: string): Promise<{ url: string; statusCode: number }> {
    const queueName = await this.board.show(type, id);
    return { url: `${DASHBOARD_ROUTE}/queue/${encodeURIComponent(queueName)}`, statusCode: 302 };
  }

  /** The entity queues on the board now (at most `maxQueues`), least recently looked up first. */
  @Get('queues')
  queues(): { queues: string[] } {
    return { queues: this.board.queueNames };
  }
}
