import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { APP_CONFIG, type AppConfig } from '../config.js';
import {
  ProcessPaymentCommand,
  ReserveInventoryCommand,
  ShipOrderCommand,
  ValidateOrderCommand,
  type OrderStepCommand,
} from './commands.js';
import { OrderStore, StepOutOfOrderError } from './order-store.js';
import { STEP_TRANSITION } from './steps.js';

/** Shared step logic: check the order is ready for the step, do the (simulated) work, record it atomically. */
@Injectable()
abstract class OrderStepHandler implements ICommandHandler<OrderStepCommand> {
  constructor(
    private readonly store: OrderStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async execute(command: OrderStepCommand): Promise<void> {
    const start = Date.now();
    const status = await this.store.status(command.orderId);
    if (status !== STEP_TRANSITION[command.step].from) throw new StepOutOfOrderError(command.orderId, command.step, status);
    if (this.config.stepDelayMs > 0) await sleep(this.config.stepDelayMs);
    await this.store.applyStep(command.orderId, { step: command.step, jobId: command.jobId, node: this.config.nodeId, start, end: Date.now() });
  }
}

@CommandHandler(ValidateOrderCommand)
export class ValidateOrderHandler extends OrderStepHandler {}

@CommandHandler(ProcessPaymentCommand)
export class ProcessPaymentHandler extends OrderStepHandler {}

@CommandHandler(ReserveInventoryCommand)
export class ReserveInventoryHandler extends OrderStepHandler {}

@CommandHandler(ShipOrderCommand)
export class ShipOrderHandler extends OrderStepHandler {}

export const ORDER_COMMAND_HANDLERS = [ValidateOrderHandler, ProcessPaymentHandler, ReserveInventoryHandler, ShipOrderHandler];
