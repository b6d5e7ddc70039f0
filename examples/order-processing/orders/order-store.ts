import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { APP_REDIS } from '../redis.js';
import type { OrderInput } from './order-input.js';
import { STEP_TRANSITION, type OrderStatus, type OrderStep } from './steps.js';

export interface StepRecord {
  step: OrderStep;
  jobId: string;
  node: string;
  start: number;
  end: number;
}

export interface OrderView extends OrderInput {
  status: OrderStatus;
  createdAt: number;
  /** Steps in the order they were applied. */
  history: StepRecord[];
}

/** Thrown when a step finds the order in another status than its transition requires (out of order / repeated). */
export class StepOutOfOrderError extends Error {
  constructor(orderId: string, step: OrderStep, actual: string | null) {
    super(`order ${orderId}: step "${step}" needs status "${STEP_TRANSITION[step].from}" but the order is "${actual ?? 'missing'}"`);
    this.name = 'StepOutOfOrderError';
  }
}

// Compare-and-set of the status plus the step record, atomically: a step applied twice or out of order is refused.
const APPLY_STEP = `
local current = redis.call('HGET', KEYS[1], 'status')
if current ~= ARGV[1] then return current or false end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
return 'OK'`;

/** Order progress in Redis, so every node sees the same state. */
@Injectable()
export class OrderStore {
  constructor(
    @Inject(APP_REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private key(orderId: string): string {
    return `${this.config.keyPrefix}:example:order:${orderId}`;
  }

  private stepsKey(orderId: string): string {
    return `${this.key(orderId)}:steps`;
  }

  /** Creates the order; false when the id is already taken. */
  async create(input: OrderInput, now: number): Promise<boolean> {
    const created = await this.redis.hsetnx(this.key(input.orderId), 'status', 'received');
    if (created === 0) return false;
    await this.redis.hset(this.key(input.orderId), {
      items: JSON.stringify(input.items),
      amount: String(input.amount),
      createdAt: String(now),
    });
    return true;
  }

  async status(orderId: string): Promise<string | null> {
    return this.redis.hget(this.key(orderId), 'status');
  }

  /** Applies a finished step if the order is in the step's `from` status; throws StepOutOfOrderError otherwise. */
  async applyStep(orderId: string, record: StepRecord): Promise<void> {
    const { from, to } = STEP_TRANSITION[record.step];
    const result = await this.redis.eval(APPLY_STEP, 2, this.key(orderId), this.stepsKey(orderId), from, to, JSON.stringify(record));
    if (result !== 'OK') throw new StepOutOfOrderError(orderId, record.step, result as string | null);
  }

  async get(orderId: string): Promise<OrderView | undefined> {
    const [hash, steps] = await Promise.all([this.redis.hgetall(this.key(orderId)), this.redis.lrange(this.stepsKey(orderId), 0, -1)]);
    if (!hash.status) return undefined;
    return {
      orderId,
      status: hash.status as OrderStatus,
      items: JSON.parse(hash.items ?? '[]') as OrderInput['items'],
      amount: Number(hash.amount),
      createdAt: Number(hash.createdAt),
      history: steps.map((s) => JSON.parse(s) as StepRecord),
    };
  }
}
