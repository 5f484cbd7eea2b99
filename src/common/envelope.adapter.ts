import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Response } from 'express';
import { Observable } from 'rxjs';
import { envelopeJson, JSON_CONTENT_TYPE } from './envelope';

/** Where RawResponseInterceptor marks a response that is not wrapped (res.locals). */
const RAW_RESPONSE_LOCAL = 'rawResponse';

/** The interceptor of @RawResponse routes: marks the response for EnvelopeExpressAdapter. */
@Injectable()
export class RawResponseInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const res = context.switchToHttp().getResponse<Response>();
    res.locals[RAW_RESPONSE_LOCAL] = true;
    return next.handle();
  }
}

/** Marks a route whose reply is not wrapped in the envelope (GET /health answers plain `OK`). */
export const RawResponse = (): MethodDecorator => UseInterceptors(RawResponseInterceptor);

/**
 * Nest's Express adapter, whose reply wraps every controller result as
 * `{"code":200,"msg":"OK","result":…}` and serializes it losslessly (Express's res.json would
 * throw on bigint and round big integers); errors get theirs from EnvelopeExceptionFilter.
 *
 * Here rather than in a global interceptor: with any interceptor on a route, Nest runs its
 * handler through rxjs (defer, mergeAll, lastValueFrom) and binds two AsyncResources per
 * request, which cost POST /task/:cate more CPU than the envelope itself (bench/probe-ingest.ts).
 * main.ts and the tests create the app with it; configureApp refuses an app without it.
 */
export class EnvelopeExpressAdapter extends ExpressAdapter {
  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    if ((response.locals as Record<string, unknown> | undefined)?.[RAW_RESPONSE_LOCAL] === true) {
      return super.reply(response, body, statusCode);
    }
    response.setHeader('Content-Type', JSON_CONTENT_TYPE);
    return super.reply(response, envelopeJson(200, 'OK', body ?? undefined), statusCode);
  }
}
