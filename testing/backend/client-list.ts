import type { Clock } from '../../src/ports/clock.js';

interface Client {
  id: number;
  name: string;
  since: number;
}

/**
 * The store's stand-in for Redis's `CLIENT LIST`: the named connections of the live BullMQ objects of a test
 * world. A Worker's blocking connection is named `<prefix>:<base64 queue name>` (`…:w:<worker name>` when the Worker
 * has a `name`), as BullMQ's Redis backend names it; a QueueEvents names its connection `…:qe` with `setName` when
 * it runs. `Queue#getWorkers()` and `Queue#getQueueEvents()` read them through `getClientList()`. A connection
 * leaves the list when its BullMQ object closes.
 */
export class ClientList {
  private nextId = 1;
  private readonly clients = new Map<number, Client>();

  constructor(private readonly clock: Clock) {}

  /** Opens a connection (named, or '' for an unnamed one) and returns its id. */
  connect(name = ''): number {
    const id = this.nextId++;
    this.clients.set(id, { id, name, since: this.clock.now() });
    return id;
  }

  /** CLIENT SETNAME on an open connection. */
  setName(id: number, name: string): void {
    const client = this.clients.get(id);
    if (client) client.name = name;
  }

  disconnect(id: number | undefined): void {
    if (id !== undefined) this.clients.delete(id);
  }

  /** The named connections, one `CLIENT LIST` line each (`id=… addr=… name=… age=… …`). */
  format(): string {
    const now = this.clock.now();
    return [...this.clients.values()]
      .filter((c) => c.name !== '')
      .map((c) => `id=${c.id} addr=in-memory:${c.id} laddr=in-memory:0 fd=-1 name=${c.name} age=${Math.floor((now - c.since) / 1000)} idle=0 flags=N db=0 cmd=NULL user=default lib-name=in-memory`)
      .join('\n');
  }
}
