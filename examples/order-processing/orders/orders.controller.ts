import { BadRequestException, Body, ConflictException, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { QueueManagerService } from '@nestjs/atomic-queues';
import { orderInputProblems, toOrderInput } from './order-input.js';
import { HistoryRecording } from '../history-recording.js';
import { OrderStore, type OrderView } from './order-store.js';
import { ORDER_ENTITY_TYPE, ORDER_STEPS, STEP_JOB_NAME, type OrderJobData } from './steps.js';

export interface OrderAccepted {
  orderId: string;
  queue: string;
  jobs: Array<{ step: string; jobId: string }>;
}

@Controller('orders')
export class OrdersController {
  constructor(
    private readonly store: OrderStore,
    private readonly queues: QueueManagerService,
    private readonly recording: HistoryRecording,
  ) {}

  /** Creates the order and queues its four steps, in order, on the order's own queue. */
  @Post()
  async create(@Body() body: unknown): Promise<OrderAccepted> {
    const problems = orderInputProblems(body);
    if (problems.length > 0) throw new BadRequestException(problems);
    const input = toOrderInput(body as Record<string, unknown>);
    if (!(await this.store.create(input, Date.now()))) throw new ConflictException(`order ${input.orderId} already exists`);
    const jobs: OrderAccepted['jobs'] = [];
    let queue = '';
    for (const [seq, step] of ORDER_STEPS.entries()) {
      const data: OrderJobData = { entityType: ORDER_ENTITY_TYPE, entityId: input.orderId, orderId: input.orderId, seq };
      const job = await this.queues.addEntityJob(ORDER_ENTITY_TYPE, input.orderId, STEP_JOB_NAME[step], data);
      this.recording.enqueued({ entityType: ORDER_ENTITY_TYPE, entityId: input.orderId, jobId: job.id, jobName: job.name, seq });
      queue = job.queueName;
      jobs.push({ step, jobId: job.id });
    }
    return { orderId: input.orderId, queue, jobs };
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<OrderView> {
    const order = await this.store.get(id);
    if (!order) throw new NotFoundException(`order ${id} not found`);
    return order;
  }
}
