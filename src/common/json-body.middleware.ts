import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NestMiddleware,
  PayloadTooLargeException,
} from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  BodyEncodingError,
  BodyTooLargeError,
  JsonBodyScanner,
  readBody,
} from './json-body.reader';
import { BodyShapeError } from './json-parser';
import { JsonParseError, MAX_JSON_DEPTH } from './lossless-json';
import { closeIfBodyUnread } from './unread-body';

/**
 * Replaces Express's JSON parser (Nest's is turned off in main.ts): bodies are parsed without
 * going through JS numbers, so uint64 keys and big integers in params stay exact, and params are
 * kept as the text the client sent (see BODY_SHAPE). Size and nesting are checked as the bytes
 * arrive, and parsing takes time linear in the size. Like the original it parses any content
 * type. Errors become HttpExceptions, which the global filter turns into the envelope.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const limits = { maxBytes: this.config.bodyLimitBytes, maxDepth: MAX_JSON_DEPTH };
    const scanner = new JsonBodyScanner(limits);
    try {
      await readBody(req, scanner, limits.maxBytes);
      req.body = scanner.parse();
    } catch (error) {
      closeIfBodyUnread(req, res);
      throw this.toHttpError(error);
    }
    next();
  }

  private toHttpError(error: unknown): HttpException {
    if (error instanceof BodyShapeError) return new BadRequestException(error.message);
    if (error instanceof JsonParseError) {
      return new BadRequestException(`request body is not valid JSON: ${error.message}`);
    }
    if (error instanceof BodyTooLargeError) {
      return new PayloadTooLargeException(
        `request body is larger than the limit of ${this.config.bodyLimitBytes} bytes`,
      );
    }
    if (error instanceof BodyEncodingError) {
      return new HttpException(
        'request body encoding is not supported',
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      );
    }
    return new BadRequestException('request body could not be read');
  }
}
