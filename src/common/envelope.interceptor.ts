import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Response } from 'express';
import { map, Observable } from 'rxjs';
import { envelopeJson, JSON_CONTENT_TYPE } from './envelope';

const RAW_RESPONSE = 'delay-tasks:raw-response';

/** Marks a route whose reply is not wrapped in the envelope (GET /health answers plain `OK`). */
export const RawResponse = (): MethodDecorator => SetMetadata(RAW_RESPONSE, true);

/**
 * Wraps every controller result as `{"code":200,"msg":"OK","result":…}` and serializes it
 * losslessly (Express's res.json would throw on bigint and round big integers).
 */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.getAllAndOverride<boolean>(RAW_RESPONSE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (raw) return next.handle();
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((result: unknown) => {
        res.setHeader('Content-Type', JSON_CONTENT_TYPE);
        return envelopeJson(200, 'OK', result ?? undefined);
      }),
    );
  }
}
