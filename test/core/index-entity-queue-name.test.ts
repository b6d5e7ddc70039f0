// The design's IndexManagerService snippet: `await indexManager.indexEntityQueue('order', '123');` (no queue name).
import { afterEach, describe, expect, it } from 'vitest';
import { makeCore, type Core } from './support.js';

let core: Core;
afterEach(async () => core?.close());

describe('IndexManagerService.indexEntityQueue without a queue name', () => {
  it("indexes the entity queue's own name", async () => {
    core = makeCore();
    await core.index.indexEntityQueue('order', '123');
    expect(await core.index.getEntityQueues('order')).toEqual({ '123': 'order-123-queue' });
    expect(await core.index.getQueueEntity('order-123-queue')).toEqual({ entityType: 'order', entityId: '123' });
  });

  it('still refuses a bad entity id before writing anything', async () => {
    core = makeCore();
    await expect(core.index.indexEntityQueue('order', 'a b')).rejects.toThrow(/entityId/);
    expect(await core.keys()).toEqual([]);
  });
});
