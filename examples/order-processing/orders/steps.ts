/** The order workflow: four jobs per order, run in this order on the order's entity queue. */
export const ORDER_ENTITY_TYPE = 'order';

export const ORDER_STEPS = ['validate', 'pay', 'reserve', 'ship'] as const;
export type OrderStep = (typeof ORDER_STEPS)[number];

export const STEP_JOB_NAME: Record<OrderStep, string> = {
  validate: 'order.validate',
  pay: 'order.pay',
  reserve: 'order.reserve',
  ship: 'order.ship',
};

export type OrderStatus = 'received' | 'validated' | 'paid' | 'reserved' | 'shipped';

/** Status an order must have before a step runs, and the status the step leaves. */
export const STEP_TRANSITION: Record<OrderStep, { from: OrderStatus; to: OrderStatus }> = {
  validate: { from: 'received', to: 'validated' },
  pay: { from: 'validated', to: 'paid' },
  reserve: { from: 'paid', to: 'reserved' },
  ship: { from: 'reserved', to: 'shipped' },
};

/** Job data of every order step; `seq` is the step's index (per-entity sequence number for the history). */
export interface OrderJobData {
  entityType: typeof ORDER_ENTITY_TYPE;
  entityId: string;
  orderId: string;
  seq: number;
}
