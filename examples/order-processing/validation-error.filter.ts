import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { AtomicQueuesValidationError } from '@nestjs/atomic-queues';

/** The part of express' response this filter uses (no @types/express in the project). */
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

/** The module rejects bad entity ids / names with AtomicQueuesValidationError: that is the client's fault (400). */
@Catch(AtomicQueuesValidationError)
export class ValidationErrorFilter implements ExceptionFilter {
  catch(error: AtomicQueuesValidationError, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<JsonResponse>().status(HttpStatus.BAD_REQUEST).json({
      statusCode: HttpStatus.BAD_REQUEST,
      error: 'Bad Request',
      message: [error.message],
    });
  }
}
