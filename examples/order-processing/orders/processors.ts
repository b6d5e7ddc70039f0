import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { JobProcessor } from '@nestjs/atomic-queues';
import type { Job } from 'bullmq';
import { STEP_COMMAND } from './commands.js';
import { STEP_JOB_NAME, type OrderJobData, type OrderStep } from './steps.js';

/** Turns an order-step job into its CQRS command. */
@Injectable()
abstract class OrderStepProcessor {
  protected abstract readonly step: OrderStep;

  constructor(private readonly commandBus: CommandBus) {}

  async process(job: Job<OrderJobData>): Promise<void> {
    await this.commandBus.execute(new STEP_COMMAND[this.step](job.data.orderId, String(job.id)));
  }
}

@JobProcessor(STEP_JOB_NAME.validate)
export class ValidateOrderProcessor extends OrderStepProcessor {
  protected readonly step = 'validate';
}

@JobProcessor(STEP_JOB_NAME.pay)
export class ProcessPaymentProcessor extends OrderStepProcessor {
  protected readonly step = 'pay';
}

@JobProcessor(STEP_JOB_NAME.reserve)
export class ReserveInventoryProcessor extends OrderStepProcessor {
  protected readonly step = 'reserve';
}

@JobProcessor(STEP_JOB_NAME.ship)
export class ShipOrderProcessor extends OrderStepProcessor {
  protected readonly step = 'ship';
}

export const ORDER_JOB_PROCESSORS = [ValidateOrderProcessor, ProcessPaymentProcessor, ReserveInventoryProcessor, ShipOrderProcessor];
