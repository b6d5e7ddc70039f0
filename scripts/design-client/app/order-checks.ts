// The one rule both runs check (two node processes, and the testing module): every order's jobs ran exactly
// once each, validate-order ending before process-payment started, with the data the order was created with.
// No imports: the repository's test runner loads this file too.

export interface OrderExecution {
  command: 'validate-order' | 'process-payment';
  orderId: string;
  /** validate-order: the items; process-payment: the amount. */
  payload: unknown;
  /** Which process ran it. */
  node: string;
  /** Wall-clock ms (performance.timeOrigin + performance.now()). */
  start: number;
  end: number;
}

export interface PlacedOrder {
  orderId: string;
  items: unknown[];
  amount: number;
}

/** The orders the clients place: ids `1001`, `1002`, …, each with its own items and amount. */
export function makeOrders(count: number): PlacedOrder[] {
  return Array.from({ length: count }, (_, i) => ({
    orderId: String(1001 + i),
    items: [{ sku: `sku-${i}`, quantity: i + 1 }],
    amount: (i + 1) * 10,
  }));
}

/** Violations of the rule (empty when every order ran validate → pay, once each). */
export function checkOrderExecutions(orders: readonly PlacedOrder[], executions: readonly OrderExecution[]): string[] {
  const problems: string[] = [];
  const byOrder = new Map<string, OrderExecution[]>();
  for (const e of executions) byOrder.set(e.orderId, [...(byOrder.get(e.orderId) ?? []), e]);
  for (const order of orders) {
    const runs = [...(byOrder.get(order.orderId) ?? [])].sort((a, b) => a.start - b.start);
    byOrder.delete(order.orderId);
    const seen = runs.map((r) => `${r.command}@${r.node}`).join(', ') || 'nothing';
    if (runs.length !== 2 || runs[0].command !== 'validate-order' || runs[1].command !== 'process-payment') {
      problems.push(`order ${order.orderId}: expected validate-order then process-payment once each, ran: ${seen}`);
      continue;
    }
    const [validate, pay] = runs;
    if (pay.start < validate.end) {
      problems.push(`order ${order.orderId}: process-payment started ${(validate.end - pay.start).toFixed(1)} ms before validate-order ended (${seen})`);
    }
    if (JSON.stringify(validate.payload) !== JSON.stringify(order.items)) {
      problems.push(`order ${order.orderId}: validate-order got items ${JSON.stringify(validate.payload)}, expected ${JSON.stringify(order.items)}`);
    }
    if (pay.payload !== order.amount) problems.push(`order ${order.orderId}: process-payment got amount ${String(pay.payload)}, expected ${order.amount}`);
  }
  for (const [orderId, runs] of byOrder) problems.push(`order ${orderId} was never placed but ran ${runs.length} job(s)`);
  return problems;
}
