import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { entityQueueName, keys } from '../config/keys.js';
import { CronManagerService } from '../cron/cron-manager.service.js';
import { ATOMIC_QUEUES_CLOCK, type Clock, type ClockTimer } from '../ports/clock.js';
import { ATOMIC_QUEUES_REDIS, ATOMIC_QUEUES_REDIS_SUBSCRIBER, type RedisClient } from '../ports/redis.js';
import { QueueManagerService } from '../queues/queue-manager.service.js';
import { ATOMIC_QUEUES_OBSERVER, NOOP_OBSERVER, type AtomicQueuesObserver } from '../telemetry/observer.js';
import { reapLeasesScript, takeReadyScript } from './engine.lua.js';
import { EngineSignals, type EntityRef } from './engine-signals.service.js';
import { leaseMember, parseEntityRef } from './leases.js';
import { settlesWithin } from '../timing/settles-within.js';

/** Entities taken per script call. */
const TAKE_BATCH = 32;
/**
 * Spawns in progress at once. Each spawn constructs a BullMQ Worker and runs a few round trips; a thousand at
 * once would hold the event loop for long stretches (late heartbeat refreshes, lost heartbeats on a busy
 * machine) and let one node take every ready entity before the others see them. The rest stay ready and are
 * taken as spawns finish.
 */
export const MAX_SPAWNS_IN_FLIGHT = 32;
/** Random delay (ms) before taking after a signal, so idle nodes share a burst of new entities. */
const JITTER_MS = 4;
/** Expired leases examined per poll. */
const REAP_BATCH = 200;
/** How long a reaped entity's orphan flag lives (the next owner normally takes it within a poll). */
const ORPHAN_FLAG_MS = 10 * 60_000;

export interface DispatcherStats {
  taken: number;
  spawned: number;
  reaped: number;
  polls: number;
  /** Spawns whose onSpawnWorker asked for no worker while the entity had work: retried later. */
  declined: number;
}

/**
 * The node's entity dispatcher: takes entities with work (the `ready:<type>` sets) for the registered entity
 * types and starts their workers through the registration's `onSpawnWorker`, with no cron tick in the path.
 *
 * - Woken by the `ready-signal` pub/sub message (an entity became ready on any node), by a freed slot, by a timer
 *   at the earliest future due time (delayed jobs), and by a poll every `engine.pollInterval` (a safety net for
 *   lost messages and Redis restarts).
 * - Takes only while the node has free slots (`engine.maxActiveEntitiesPerNode`), so idle capacity pulls work;
 *   a busier node waits a little longer before taking (up to a quarter poll, in proportion to its load), so new
 *   entities spread over the nodes. Without a free slot it asks its idle workers to release their entities.
 * - Keeps the leases of this node's entity workers fresh and reaps expired leases of any node: an entity whose
 *   owner's heartbeat is gone is marked ready again at once (takeover within `heartbeatTTL` + one poll).
 */
@Injectable()
export class EntityDispatcher implements OnApplicationBootstrap {
  private readonly logger = new Logger('AtomicQueues:Dispatcher');
  private running = false;
  private pollTimer?: ClockTimer;
  private dueTimer?: { timer: ClockTimer; at: number };
  private kickTimer?: ClockTimer;
  private taking?: Promise<void>;
  private again = false;
  private spawning = 0;
  /** Spawns in progress (onSpawnWorker calls): `stop()` lets them finish before the workers are shut down. */
  private readonly spawnsInFlight = new Map<Promise<void>, { entity: EntityRef; handedOver: boolean }>();
  /** A take round stopped at MAX_SPAWNS_IN_FLIGHT: the next finished spawn starts another. */
  private spawnCapped = false;
  private cursor = 0;
  private unsubscribeSlots?: () => void;
  private unsubscribeTypes?: () => void;
  readonly stats: DispatcherStats = { taken: 0, spawned: 0, reaped: 0, polls: 0, declined: 0 };
  /** Clock times (health checks): when the dispatcher started, when its last poll began. */
  private times: { startedAt?: number; lastPollAt?: number } = {};

  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_REDIS_SUBSCRIBER) private readonly subscriber: RedisClient,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_CLOCK) private readonly clock: Clock,
    private readonly signals: EngineSignals,
    private readonly cron: CronManagerService,
    private readonly queues: QueueManagerService,
    /** Telemetry: takeovers are counted. */
    @Optional() @Inject(ATOMIC_QUEUES_OBSERVER) private readonly observer: AtomicQueuesObserver = NOOP_OBSERVER,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** Whether it runs, its poll period, when it started and when its last poll began (Clock times). */
  get activity(): { running: boolean; pollIntervalMs: number; startedAt?: number; lastPollAt?: number } {
    return { running: this.running, pollIntervalMs: this.config.engine.pollInterval, ...this.times };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  /** Subscribes to ready signals and starts polling (idempotent). Bootstrap calls it unless `engine.dispatch` is false. */
  async start(): Promise<void> {
    if (this.running || !this.config.engine.dispatch) return;
    this.running = true;
    this.times = { startedAt: this.clock.now() };
    this.subscriber.on('message', this.onMessage);
    this.unsubscribeSlots = this.signals.onSlotFreed(() => this.kick());
    // Entities may be ready before their type is registered (jobs added at start-up): look as soon as it is.
    this.unsubscribeTypes = this.cron.onEntityTypeRegistered(() => this.kick(true));
    try {
      await this.subscriber.subscribe(this.signals.readyChannel);
    } catch (err) {
      this.logger.warn(`subscribing to ready signals failed (the poll still takes work): ${String(err)}`);
    }
    this.pollTimer = this.clock.setInterval(() => void this.poll(), this.config.engine.pollInterval, { unref: true, label: 'atomic-queues dispatcher poll' });
    this.kick();
  }

  /** Stops taking new entities (running workers are closed by the worker service); waits for a take in progress. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.subscriber.off('message', this.onMessage);
    this.unsubscribeSlots?.();
    this.unsubscribeTypes?.();
    for (const t of [this.pollTimer, this.dueTimer?.timer, this.kickTimer]) this.clock.clear(t);
    this.pollTimer = this.kickTimer = this.dueTimer = undefined;
    this.subscriber.unsubscribe(this.signals.readyChannel).catch(() => undefined);
    await this.taking;
    // Entities taken from the ready set are out of it until their spawn ends: let the spawns finish (bounded by
    // shutdownTimeoutMs), so each entity is served (and then closed by the shutdown, which re-marks what is
    // left) or marked ready again, instead of being lost to the other nodes until a cron tick.
    if (this.spawnsInFlight.size === 0) return;
    await settlesWithin(this.clock, Promise.allSettled([...this.spawnsInFlight.keys()]), this.config.shutdownTimeoutMs);
    // Spawns still running now end after the shutdown (their createWorker is refused): hand their entities to the
    // other nodes while this node's connections are still open.
    await Promise.all(
      [...this.spawnsInFlight.values()].map((spawn) => {
        spawn.handedOver = true;
        return this.handOver(spawn.entity);
      }),
    );
  }

  /** One poll now: lease refresh, lease reaping, then a take round (the timer calls it; exposed for tests). */
  async poll(): Promise<void> {
    if (!this.running) return;
    this.stats.polls += 1;
    this.times.lastPollAt = this.clock.now();
    try {
      await this.refreshLeases();
      await this.reapLeases();
    } catch (err) {
      this.logger.warn(`lease upkeep failed: ${String(err)}`);
    }
    this.kick(true);
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.signals.readyChannel) return;
    const entity = parseEntityRef(message);
    if (!entity) return;
    // The owner of an entity is woken where it runs; the others race (fairly) to take it if it is unowned.
    if (this.signals.wakeLocal(entityQueueName(entity.entityType, entity.entityId))) return;
    if (this.cron.isRegistered(entity.entityType)) this.kick();
  };

  /** Schedules a take round (coalesced). A loaded node waits in proportion to its load unless `now`. */
  private kick(now = false): void {
    if (!this.running) return;
    if (this.taking) {
      this.again = true;
      return;
    }
    if (this.kickTimer) {
      if (!now) return;
      this.clock.clear(this.kickTimer);
      this.kickTimer = undefined;
    }
    const { maxActiveEntitiesPerNode, pollInterval } = this.config.engine;
    const load = (this.signals.activeManaged + this.spawning) / maxActiveEntitiesPerNode;
    // A few ms of jitter decide races between idle nodes at random (Redis delivers a message to the subscribers
    // in the same order every time); a loaded node waits longer, so nodes with room take new entities first.
    const delay = now ? 0 : Math.round(Math.random() * JITTER_MS + Math.min(50, pollInterval / 4) * Math.min(1, load));
    this.kickTimer = this.clock.setTimeout(() => {
      this.kickTimer = undefined;
      this.runTakes();
    }, delay, { unref: true, label: 'atomic-queues dispatcher take' });
  }

  private runTakes(): void {
    if (!this.running || this.taking) return;
    this.again = false;
    this.taking = this.takeRound()
      .catch((err) => this.logger.warn(`taking ready entities failed (retried by the next poll): ${String(err)}`))
      .finally(() => {
        this.taking = undefined;
        if (this.again) this.kick();
      });
  }

  private freeSlots(): number {
    return this.config.engine.maxActiveEntitiesPerNode - this.signals.activeManaged - this.spawning;
  }

  /** Takes ready entities of every registered type, round robin, while slots are free. */
  private async takeRound(): Promise<void> {
    const types = this.cron.getRegisteredEntityTypes();
    if (types.length === 0) return;
    let nextDue = Infinity;
    const start = this.cursor++ % types.length;
    for (let i = 0; i < types.length; i++) {
      const entityType = types[(start + i) % types.length];
      for (;;) {
        const free = this.freeSlots();
        if (free <= 0) {
          await this.makeRoom();
          return;
        }
        const room = MAX_SPAWNS_IN_FLIGHT - this.spawning;
        if (room <= 0) {
          this.spawnCapped = true;
          return;
        }
        const limit = Math.min(free, room, TAKE_BATCH);
        const reply = String(
          (await takeReadyScript.run<string>(this.redis, [keys.ready(this.config.keyPrefix, entityType)], [this.clock.now(), limit])) ?? '',
        );
        const [head, ...ids] = reply.split('\n');
        if (head !== '') nextDue = Math.min(nextDue, Number(head));
        for (const id of ids) this.spawn(entityType, id);
        this.stats.taken += ids.length;
        if (ids.length < limit) break;
      }
    }
    this.scheduleDue(nextDue);
  }

  private spawn(entityType: string, entityId: string): void {
    this.spawning += 1;
    const record = { entity: { entityType, entityId }, handedOver: false };
    const spawn: Promise<void> = this.cron
      .spawnEntity(entityType, entityId)
      .then((outcome) => {
        if (outcome === 'spawned') this.stats.spawned += 1;
        else if (outcome === 'declined' && !record.handedOver) return this.retryDeclined(entityType, entityId);
      })
      .catch((err) => {
        if (this.running) return this.logger.error(`onSpawnWorker failed for ${entityType}/${entityId} (the cron retries it): ${String(err)}`);
        // Ended by this node's shutdown (e.g. its queues closed under the callback): the other nodes take the entity.
        if (record.handedOver) return this.logger.warn(`spawn of ${entityType}/${entityId} ended after the shutdown handed the entity to the other nodes: ${String(err)}`);
        this.logger.warn(`spawn of ${entityType}/${entityId} interrupted by the shutdown (${String(err)}): handing the entity to the other nodes`);
        return this.handOver(record.entity);
      })
      .finally(() => {
        this.spawning -= 1;
        this.spawnsInFlight.delete(spawn);
        if (this.spawnCapped) {
          this.spawnCapped = false;
          this.kick(true);
        }
      });
    this.spawnsInFlight.set(spawn, record);
  }

  /**
   * onSpawnWorker returned without asking for a worker (typically: it takes a fencing lease first and the
   * previous owner, whose close just made the entity ready, releases that lease only in its `onClosed`, a moment
   * later). The entity was taken out of the ready set and nothing serves it: without this it would wait for the
   * cron's next tick over the pending-job index (5 s by default), or for ever with the cron off. So, if its queue
   * still holds work, it is marked ready again a quarter poll from now (any node may take it then).
   */
  private async retryDeclined(entityType: string, entityId: string): Promise<void> {
    if ((await this.queues.nextWorkAt(entityQueueName(entityType, entityId))) === undefined) return;
    this.stats.declined += 1;
    // Declined because this node is stopping: ready at once, for the other nodes.
    const retryIn = this.running ? Math.max(1, Math.round(this.config.engine.pollInterval / 4)) : 0;
    await this.signals.markReady({ entityType, entityId }, this.clock.now() + retryIn);
  }

  /** This node is stopping: the entity, if its queue holds work, is ready at once for the other nodes. Never throws. */
  private handOver(entity: EntityRef): Promise<void> {
    return this.retryDeclined(entity.entityType, entity.entityId).catch((err) =>
      this.logger.warn(`could not hand ${entity.entityType}/${entity.entityId} to the other nodes (a cron tick over the pending-job index finds it): ${String(err)}`),
    );
  }

  /** No free slot: idle workers release their entities now (each freed slot kicks a new round). */
  private async makeRoom(): Promise<void> {
    const idle = [...this.signals.localWorkers].filter((w) => w.managed && w.waiter.isIdle);
    await Promise.allSettled(idle.map((w) => w.waiter.releaseIfIdle()));
  }

  /** Wakes at the earliest future due time (a delayed job) when that comes before the next poll. */
  private scheduleDue(at: number): void {
    if (!Number.isFinite(at)) return;
    const wait = at - this.clock.now();
    if (wait >= this.config.engine.pollInterval) return;
    if (this.dueTimer && this.dueTimer.at <= at) return;
    this.clock.clear(this.dueTimer?.timer);
    const timer = this.clock.setTimeout(() => {
      this.dueTimer = undefined;
      this.kick(true);
    }, Math.max(0, wait), { unref: true, label: 'atomic-queues dispatcher due' });
    this.dueTimer = { timer, at };
  }

  private async refreshLeases(): Promise<void> {
    const now = this.clock.now();
    const args: Array<string | number> = [];
    for (const w of this.signals.localWorkers) args.push(now + w.ttlMs, leaseMember(w.entity, w.workerName));
    if (args.length > 0) await this.redis.zadd(keys.leases(this.config.keyPrefix), 'XX', ...args);
  }

  private async reapLeases(): Promise<void> {
    const reply = String(
      (await reapLeasesScript.run<string>(
        this.redis,
        [keys.leases(this.config.keyPrefix)],
        [this.clock.now(), REAP_BATCH, this.config.keyPrefix, this.signals.readyChannel, ORPHAN_FLAG_MS],
      )) ?? '',
    );
    if (reply === '') return;
    const reaped = reply.split('\n');
    this.stats.reaped += reaped.length;
    this.observer.takenOver(reaped.map(parseEntityRef).filter((e) => e !== undefined));
    this.logger.log(`took over ${reaped.length} entit${reaped.length === 1 ? 'y' : 'ies'} of dead workers: ${reaped.slice(0, 10).join(', ')}${reaped.length > 10 ? ', …' : ''}`);
  }
}
