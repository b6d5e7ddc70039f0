// Glue a user writes beside the design's snippets: the two commands the processors send, their handlers, and a
// record of every execution (in memory, and as JSON lines in $EXECUTIONS_FILE when set) for the checks.
import { appendFileSync } from 'node:fs';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { OrderExecution } from './order-checks.js';

export class ValidateOrderCommand {
  constructor(
    public readonly orderId: string,
    public readonly items: unknown[],
  ) {}
}

export class ProcessPaymentCommand {
  constructor(
    public readonly orderId: string,
    public readonly amount: number,
  ) {}
}

/** Every execution of this process, in completion order. */
export const executions: OrderExecution[] = [];

const node = process.env.NODE_LABEL ?? `pid-${process.pid}`;
// Validation takes a while (default 0 ms), so a payment that did not wait for it would start before it ended.
const validateMs = Number(process.env.VALIDATE_DELAY_MS ?? 0);
const now = () => performance.timeOrigin + performance.now();

async function record(command: OrderExecution['command'], orderId: string, payload: unknown, workMs: number): Promise<void> {
  const start = now();
  if (workMs > 0) await new Promise((resolve) => setTimeout(resolve, workMs));
  const execution: OrderExecution = { command, orderId, payload, node, start, end: now() };
  executions.push(execution);
  if (process.env.EXECUTIONS_FILE) appendFileSync(process.env.EXECUTIONS_FILE, `${JSON.stringify(execution)}\n`);
}

@CommandHandler(ValidateOrderCommand)
export class ValidateOrderHandler implements ICommandHandler<ValidateOrderCommand> {
  async execute(command: ValidateOrderCommand): Promise<void> {
    await record('validate-order', command.orderId, command.items, validateMs);
  }
}

@CommandHandler(ProcessPaymentCommand)
export class ProcessPaymentHandler implements ICommandHandler<ProcessPaymentCommand> {
  async execute(command: ProcessPaymentCommand): Promise<void> {
    await record('process-payment', command.orderId, command.amount, 0);
  }
}
