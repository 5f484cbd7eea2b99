import { applyDecorators, HttpStatus, Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptions,
  ApiResponse,
  ApiSchema,
  getSchemaPath,
} from '@nestjs/swagger';
import { UNAUTHORIZED_MESSAGE } from './api-key.middleware';
import { CROSS_SITE_MESSAGE } from './cross-site-request.middleware';
import { KEY_MESSAGE, MAX_UINT64 } from './task-fields';

/** Name of the security scheme of API_KEYS (`Authorization: Bearer <key>`). */
export const BEARER_SCHEME = 'bearer';

/**
 * The reply shape every JSON answer has, errors included: `code` mirrors the HTTP status, `msg`
 * is "OK" or the reason, `result` (when there is one) is the route's data. Documents Envelope.
 */
@ApiSchema({ name: 'Envelope' })
export class EnvelopeDto {
  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated.', example: 200 })
  code!: number;

  @ApiProperty({
    description: '"OK" on success; otherwise the reason, naming the field and the rule.',
    example: 'OK',
  })
  msg!: string;
}

const KEY_DESCRIPTION =
  'Task key: an integer from 1 to 18446744073709551615 (uint64), kept exactly (the service ' +
  'never turns it into a JavaScript number, so values above 2^53 do not lose precision). ' +
  'A decimal string such as "42" is accepted on input too; replies always carry the bare integer.';

/** A uint64 task key, in a body, a path or a reply; the example is a bigint, written exactly. */
export const ApiKeyProperty = (): PropertyDecorator =>
  ApiProperty({
    type: 'integer',
    format: 'uint64',
    minimum: 1,
    description: KEY_DESCRIPTION,
    example: MAX_UINT64,
  });

/**
 * Any JSON value. Without this, swagger would describe a field typed `unknown` as an object,
 * which clients would take literally; `oneOf` the JSON types (null via nullable) says "any".
 */
export const ApiAnyJsonProperty = (options: ApiPropertyOptions = {}): PropertyDecorator =>
  ApiProperty({
    ...options,
    oneOf: [
      { type: 'object' },
      { type: 'array', items: {} },
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
    ],
    nullable: true,
  });

interface EnvelopeResponseOptions {
  description: string;
  status?: number;
  /** `msg` of the example; "OK" by default. */
  msg?: string;
  /** Example of `result`. */
  example?: unknown;
}

/**
 * A success reply in the envelope: `{"code":200,"msg":"OK","result":<model>}`, or without
 * `result` when no model is given (writes answer `{"code":200,"msg":"OK"}`).
 */
export function ApiEnvelopeResponse(
  model: Type<unknown> | undefined,
  { description, status = HttpStatus.OK, msg = 'OK', example }: EnvelopeResponseOptions,
): MethodDecorator & ClassDecorator {
  const envelope = { $ref: getSchemaPath(EnvelopeDto) };
  const models: Type<unknown>[] = model ? [EnvelopeDto, model] : [EnvelopeDto];
  const schema = model
    ? {
        allOf: [
          envelope,
          {
            type: 'object',
            required: ['result'],
            properties: { result: { $ref: getSchemaPath(model) } },
          },
        ],
      }
    : envelope;
  // Without an explicit example, UIs build one from the schema's property examples.
  const body = model ? example && { code: status, msg, result: example } : { code: status, msg };
  return applyDecorators(
    ApiExtraModels(...models),
    ApiResponse({ status, description, schema, ...(body === undefined ? {} : { example: body }) }),
  );
}

/** Client errors the API answers, each with a typical message. */
const ERRORS = {
  400: {
    description: 'Invalid request: the message names the field and the rule.',
    msg: KEY_MESSAGE,
  },
  401: {
    description: 'API_KEYS is set and the request has no valid `Authorization: Bearer <key>`.',
    msg: UNAUTHORIZED_MESSAGE,
  },
  403: {
    description:
      'A state-changing request with a read-only key (API_KEYS_READONLY: GET and HEAD only), ' +
      'or from a web page of another origin (`Origin` not this ' +
      "service's nor one of ALLOWED_ORIGINS, or `Sec-Fetch-Site: cross-site`).",
    msg: CROSS_SITE_MESSAGE,
  },
  404: { description: 'No such task or category.', msg: 'not found' },
  409: {
    description: 'The request conflicts with the current state.',
    msg: 'only a failed task can be retried; this one is pending',
  },
  413: {
    description: "The body or a task's `params` is larger than the limit.",
    msg: 'request body is larger than the limit of 1048576 bytes',
  },
} as const;

export type ClientErrorStatus = keyof typeof ERRORS;

/** Error replies in the envelope, `{"code":<status>,"msg":"<reason>"}`, for each status given. */
export function ApiErrorResponses(
  ...statuses: ClientErrorStatus[]
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(EnvelopeDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: ERRORS[status].description,
        schema: { $ref: getSchemaPath(EnvelopeDto) },
        example: { code: status, msg: ERRORS[status].msg },
      }),
    ),
  );
}
