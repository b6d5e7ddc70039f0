import type { Logger } from '@nestjs/common';
import { keys } from '../config/keys.js';
import type { RedisClient } from '../ports/redis.js';

/**
 * Close signals over Redis pub/sub: a publish on `${keyPrefix}:worker:${workerName}:shutdown` closes that worker
 * wherever it runs. Each local worker's channel is subscribed on the node's subscriber connection while it lives.
 */
export class CloseSignals {
  private readonly channelToWorker = new Map<string, string>();
  private attached = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
    private readonly onSignal: (workerName: string) => void,
  ) {}

  /** Publishes a close signal; returns the number of receivers. */
  async signal(workerName: string, fromNode: string): Promise<number> {
    return Number(await this.redis.publish(keys.shutdownChannel(this.keyPrefix, workerName), fromNode));
  }

  /** Starts listening for the worker's signal (resolves once subscribed). */
  async listen(workerName: string): Promise<void> {
    if (!this.attached) {
      this.attached = true;
      this.subscriber.on('message', this.onMessage);
    }
    const channel = keys.shutdownChannel(this.keyPrefix, workerName);
    this.channelToWorker.set(channel, workerName);
    await this.subscriber.subscribe(channel);
  }

  /** Stops listening (not awaited: the subscriber never gives up on a command while Redis is unreachable). */
  stopListening(workerName: string): void {
    const channel = keys.shutdownChannel(this.keyPrefix, workerName);
    if (!this.channelToWorker.delete(channel)) return;
    this.subscriber.unsubscribe(channel).catch((err: unknown) => this.logger.warn(`unsubscribe ${channel}: ${String(err)}`));
  }

  detach(): void {
    if (this.attached) this.subscriber.off('message', this.onMessage);
    this.attached = false;
  }

  private readonly onMessage = (channel: string): void => {
    const name = this.channelToWorker.get(channel);
    if (name) this.onSignal(name);
  };
}
