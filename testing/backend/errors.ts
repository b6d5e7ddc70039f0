import { ErrorCode, UnrecoverableError } from 'bullmq';

/** The one error every unsupported feature throws: names the feature, never a silent no-op. */
export class InMemoryBackendUnsupportedError extends Error {
  constructor(readonly feature: string) {
    super(`${feature} is not supported by the in-memory backend`);
    this.name = 'InMemoryBackendUnsupportedError';
  }
}

export function unsupported(feature: string): never {
  throw new InMemoryBackendUnsupportedError(feature);
}

/** Same messages and `code` as BullMQ's own finishedErrors (not exported by bullmq), so callers see identical errors. */
export function backendError(code: number, jobId: string, command: string, state?: string, parentKey?: string): Error {
  let message: string;
  switch (code) {
    case ErrorCode.JobNotExist:
      message = `Missing key for job ${jobId}. ${command}`;
      break;
    case ErrorCode.JobLockNotExist:
      message = `Missing lock for job ${jobId}. ${command}`;
      break;
    case ErrorCode.JobNotInState:
      message = `Job ${jobId} is not in the ${state} state. ${command}`;
      break;
    case ErrorCode.JobPendingChildren:
      message = `Job ${jobId} has pending dependencies. ${command}`;
      break;
    case ErrorCode.ParentJobNotExist:
      message = `Missing key for parent job ${parentKey}. ${command}`;
      break;
    case ErrorCode.JobLockMismatch:
      message = `Lock mismatch for job ${jobId}. Cmd ${command} from ${state}`;
      break;
    case ErrorCode.ParentJobCannotBeReplaced:
      message = `The parent job ${parentKey} cannot be replaced. ${command}`;
      break;
    case ErrorCode.JobHasFailedChildren: {
      const error = new UnrecoverableError(`Cannot complete job ${jobId} because it has at least one failed child. ${command}`) as Error & { code: number };
      error.code = code;
      return error;
    }
    default:
      message = `Unknown code ${code} error for ${jobId}. ${command}`;
  }
  const error = new Error(message) as Error & { code: number };
  error.code = code;
  return error;
}
