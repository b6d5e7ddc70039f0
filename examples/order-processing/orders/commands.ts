import { Command } from '@nestjs/cqrs';
import type { OrderStep } from './steps.js';

/** One command per order step; `jobId` identifies the queue job that carries it. */
export abstract class OrderStepCommand extends Command<void> {
  abstract readonly step: OrderStep;

  constructor(
    readonly orderId: string,
    readonly jobId: string,
  ) {
    super();
  }
}

export class ValidateOrderCommand extends OrderStepCommand {
  readonly step = 'validate' as const;
}

export class ProcessPaymentCommand extends OrderStepCommand {
  readonly step = 'pay' as const;
}

export class ReserveInventoryCommand extends OrderStepCommand {
  readonly step = 'reserve' as const;
}

export class ShipOrderCommand extends OrderStepCommand {
  readonly step = 'ship' as const;
}

export type AnyOrderStepCommand = ValidateOrderCommand | ProcessPaymentCommand | ReserveInventoryCommand | ShipOrderCommand;

export const STEP_COMMAND: Record<OrderStep, new (orderId: string, jobId: string) => AnyOrderStepCommand> = {
  validate: ValidateOrderCommand,
  pay: ProcessPaymentCommand,
  reserve: ReserveInventoryCommand,
  ship: ShipOrderCommand,
};
