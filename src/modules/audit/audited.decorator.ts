import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  RequestMethod,
  SetMetadata,
  Type,
  UseInterceptors,
} from '@nestjs/common';
import { HTTP_CODE_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import { getMetadataStorage } from 'class-validator';
import { Request, Response } from 'express';
import { concatMap, Observable } from 'rxjs';
import { apiKeyIdOf } from '../../common/api-key.middleware';
import { requestIdOf } from '../../common/logging/logging.options';
import { auditChanges } from './audit-changes';
import { AuditService } from './audit.service';

const AUDIT_ACTION = 'delay-tasks:audit-action';

/**
 * Records each successful call of the route in the audit log as `action` (e.g.
 * `handler.register`): who (key id), what (method, route, cate, target, the body's fields with
 * secrets removed, the answer's `count`), when (database clock). Failed calls (an exception,
 * 4xx/5xx) and dry runs (`"dryRun": true` in the body: nothing changed) are not recorded.
 */
export function Audited(action: string): MethodDecorator {
  return applyDecorators(SetMetadata(AUDIT_ACTION, action), UseInterceptors(AuditInterceptor));
}

/**
 * The interceptor of @Audited routes. It records after the route's handler returned, before the
 * answer is sent: the entry is written when the client hears of the success. A failed audit write
 * does not fail the action, which is committed by then (AuditService.record).
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  /** The DTO fields of each audited handler's body (undefined: no DTO, keep every field). */
  private readonly bodyFields = new Map<object, ReadonlySet<string> | undefined>();

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<string | undefined>(AUDIT_ACTION, context.getHandler());
    const req = context.switchToHttp().getRequest<Request>();
    if (action === undefined || isDryRun(req.body) || !succeeds(context)) return next.handle();
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      concatMap(async (result: unknown) => {
        await this.audit.record({
          keyId: apiKeyIdOf(res),
          action,
          method: req.method,
          route: routeOf(req),
          cate: paramOf(req, 'cate'),
          target: paramOf(req, 'key'),
          changes: auditChanges(req.body, this.fieldsOf(context)),
          count: countOf(result),
          requestId: requestIdOf(req) ?? null,
        });
        return result;
      }),
    );
  }

  private fieldsOf(context: ExecutionContext): ReadonlySet<string> | undefined {
    const handler = context.getHandler();
    if (!this.bodyFields.has(handler)) {
      this.bodyFields.set(handler, bodyDtoFields(context.getClass(), handler.name));
    }
    return this.bodyFields.get(handler);
  }
}

/** A bulk operation's `"dryRun": true` only counts: it changes nothing, so it is not recorded. */
function isDryRun(body: unknown): boolean {
  return (
    typeof body === 'object' && body !== null && (body as { dryRun?: unknown }).dryRun === true
  );
}

/**
 * Whether the route answers a returned value with a 2xx (its @HttpCode, else Nest's default:
 * 201 for POST, 200 otherwise). Thrown errors never reach the recording step.
 */
function succeeds(context: ExecutionContext): boolean {
  const declared = Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) as unknown;
  const method = context.switchToHttp().getRequest<Request>().method;
  const status =
    typeof declared === 'number'
      ? declared
      : method === RequestMethod[RequestMethod.POST]
        ? 201
        : 200;
  return status >= 200 && status < 300;
}

/** The route's template (`/handler/:cate`), never the request's path. */
function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : req.path;
}

function paramOf(req: Request, name: string): string | null {
  const value = (req.params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : null;
}

/** The answer's `count` (bulk routes answer `{count}`), else null. */
function countOf(result: unknown): number | null {
  const count = (result as { count?: unknown } | null | undefined)?.count;
  if (typeof count === 'number' && Number.isInteger(count)) return count;
  if (typeof count === 'bigint') return Number(count);
  return null;
}

/**
 * The properties the body's DTO declares (what validation keeps, whitelist: true), read from
 * the route's @Body() parameter type; an empty set for a route without a body parameter, and
 * undefined when the body's type declares none (a body not validated by a DTO).
 */
function bodyDtoFields(controller: Type<unknown>, method: string): ReadonlySet<string> | undefined {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<
    string,
    { index: number; data?: unknown }
  >;
  const body = Object.entries(args).find(
    ([key, arg]) => key.startsWith(`${RouteParamtypes.BODY}:`) && arg.data === undefined,
  );
  if (body === undefined) return new Set();
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, method) ??
    []) as unknown[];
  const dto = types[body[1].index];
  if (typeof dto !== 'function' || dto === Object) return undefined;
  const metadata = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  return metadata.length === 0 ? undefined : new Set(metadata.map((m) => m.propertyName));
}
