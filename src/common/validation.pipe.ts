import {
  ArgumentMetadata,
  BadRequestException,
  Injectable,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';

/**
 * What a DTO class may offer the pipe for its usual input (ingest bodies, a category path): the
 * instance the full validation would return for `value`, built by hand when `value` is plainly
 * valid, else undefined. class-transformer and class-validator cost more per request than the
 * rest of POST /task/:cate together (and most of a 1,000-task batch), and every rule broken is
 * still theirs to report: an undefined answer sends the value the full way, so messages, and what
 * is done with anything unusual (unknown fields, `at`, odd types), stay theirs.
 */
export interface PlainlyValidated {
  validPlain(value: unknown): object | undefined;
}

/**
 * The one validation setup: unknown body fields are dropped (the original ignored them too),
 * values are transformed into DTO instances, and every rule broken is listed in the message.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      transform: true,
      forbidUnknownValues: false,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) =>
        new BadRequestException(summarize(errors.flatMap((error) => messagesOf(error)))),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && value !== undefined && !isPlainObject(value)) {
      throw new BadRequestException('request body must be a JSON object');
    }
    if (metadata.type !== 'custom') {
      const valid = (metadata.metatype as Partial<PlainlyValidated> | undefined)?.validPlain?.(
        value,
      );
      if (valid !== undefined) return valid;
    }
    return super.transform(value, metadata);
  }
}

/** An object as parseJson builds it (or Express's params): what validPlain takes apart. */
export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * Messages start with the property they are about ("key must be …"). Inside nested objects and
 * arrays the path is put in front, so that one bad item of a batch is named: "tasks[3].key must
 * be …"; an item that is not an object at all is reported as such.
 */
function messagesOf(error: ValidationError, parent = ''): string[] {
  const isIndex = /^\d+$/.test(error.property);
  const path = isIndex
    ? `${parent}[${error.property}]`
    : parent
      ? `${parent}.${error.property}`
      : error.property;
  const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => {
    if (rule === 'nestedValidation') return `${path} must be an object`;
    return parent && !isIndex ? `${parent}.${message}` : message;
  });
  return [...own, ...(error.children ?? []).flatMap((child) => messagesOf(child, path))];
}

/** Every rule broken, up to a point: a batch of 1,000 bad items is not answered in 1,000 lines. */
const MAX_MESSAGES = 20;
function summarize(messages: string[]): string {
  const shown = messages.slice(0, MAX_MESSAGES).join('; ');
  const more = messages.length - MAX_MESSAGES;
  return more > 0 ? `${shown}; and ${more} more` : shown;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
