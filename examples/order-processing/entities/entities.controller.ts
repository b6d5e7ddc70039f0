import { BadRequestException, Body, Controller, Param, Post } from '@nestjs/common';
import { QueueManagerService } from '@nestjs/atomic-queues';
import { HistoryRecording } from '../history-recording.js';
import { GENERIC_JOB_NAME, genericJobProblems, type GenericJobData, type GenericJobRequest } from './generic-jobs.js';

@Controller('entities')
export class EntitiesController {
  constructor(
    private readonly queues: QueueManagerService,
    private readonly recording: HistoryRecording,
  ) {}

  /** Queues one generic job carrying the producer's per-entity sequence number. */
  @Post(':type/:id/jobs')
  async enqueue(@Param('type') type: string, @Param('id') id: string, @Body() body: unknown): Promise<{ jobId: string; queue: string; seq: number }> {
    const problems = genericJobProblems(type, body);
    if (problems.length > 0) throw new BadRequestException(problems);
    const { seq, payload, jobId } = body as GenericJobRequest;
    const data: GenericJobData = { entityType: type, entityId: id, seq, payload };
    const job = await this.queues.addEntityJob(type, id, GENERIC_JOB_NAME, data, jobId ? { jobId } : {});
    this.recording.enqueued({ entityType: type, entityId: id, jobId: job.id, jobName: job.name, seq });
    return { jobId: job.id, queue: job.queueName, seq };
  }
}
