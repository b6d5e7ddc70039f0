// Glue: the design's AppModule (snippet "2. Async Configuration", unchanged in app.module.ts) plus what a user
// adds around it: ConfigModule.forRoot (reads REDIS_URL from the environment), CQRS, and the providers of the
// snippets "3. Register Job Processors", "4. Queue Jobs" and "5. Create Workers".
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CqrsModule } from '@nestjs/cqrs';
import { AppModule } from './app.module.js';
import { ProcessPaymentHandler, ValidateOrderHandler } from './commands.js';
import { ProcessPaymentProcessor, ValidateOrderProcessor } from './job-processors.js';
import { OrderWorkerService } from './order-worker.service.js';
import { OrderService } from './order.service.js';

/** The providers of the snippets and their command handlers (the testing-module test lists the same). */
export const ORDER_PROVIDERS = [
  ValidateOrderProcessor,
  ProcessPaymentProcessor,
  OrderService,
  OrderWorkerService,
  ValidateOrderHandler,
  ProcessPaymentHandler,
];

@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true }), CqrsModule.forRoot(), AppModule],
  providers: ORDER_PROVIDERS,
})
export class ClientModule {}
