import { randomUUID } from 'node:crypto';

/** Body of `POST /orders`. */
export interface OrderInput {
  orderId: string;
  items: Array<{ sku: string; quantity: number }>;
  amount: number;
}

const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Validates an untrusted body; returns the list of problems (empty when valid), each naming the field. */
export function orderInputProblems(body: unknown): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ['body must be a JSON object'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  if (b.orderId !== undefined && (typeof b.orderId !== 'string' || !ID_RE.test(b.orderId))) {
    problems.push(`orderId must be 1-64 characters of A-Z a-z 0-9 _ . - (got ${JSON.stringify(b.orderId)})`);
  }
  if (!Array.isArray(b.items) || b.items.length === 0) {
    problems.push(`items must be a non-empty array of { sku, quantity } (got ${JSON.stringify(b.items)})`);
  } else {
    for (const [i, item] of (b.items as unknown[]).entries()) {
      const it = item as Record<string, unknown> | null;
      if (it === null || typeof it !== 'object') {
        problems.push(`items[${i}] must be an object { sku, quantity }`);
        continue;
      }
      if (typeof it.sku !== 'string' || it.sku.trim() === '') problems.push(`items[${i}].sku must be a non-empty string (got ${JSON.stringify(it.sku)})`);
      if (!Number.isInteger(it.quantity) || (it.quantity as number) < 1) {
        problems.push(`items[${i}].quantity must be a positive integer (got ${JSON.stringify(it.quantity)})`);
      }
    }
  }
  if (typeof b.amount !== 'number' || !Number.isFinite(b.amount) || b.amount <= 0) {
    problems.push(`amount must be a number > 0 (got ${JSON.stringify(b.amount)})`);
  }
  return problems;
}

/** The validated input (a fresh orderId when none was given). Call only when `orderInputProblems` is empty. */
export function toOrderInput(body: Record<string, unknown>): OrderInput {
  const items = (body.items as Array<{ sku: string; quantity: number }>).map(({ sku, quantity }) => ({ sku, quantity }));
  return { orderId: (body.orderId as string | undefined) ?? randomUUID(), items, amount: body.amount as number };
}
