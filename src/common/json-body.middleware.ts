import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NestMiddleware,
  PayloadTooLargeException,
} from '@nestjs/common';
import { raw, NextFunction, Request, RequestHandler, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { JsonParseError, parseJson } from './lossless-json';

/**
 * Replaces Express's JSON parser (Nest's is turned off in main.ts): bodies are parsed without
 * going through JS numbers, so uint64 keys and big integers in params stay exact. Like the
 * original it parses any content type. Errors become HttpExceptions, which the global filter
 * turns into the envelope.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly readRaw: RequestHandler;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.readRaw = raw({ type: () => true, limit: config.bodyLimitBytes });
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    await new Promise<void>((resolve, reject) => {
      void this.readRaw(req, res, (error?: unknown) =>
        error ? reject(this.toHttpError(error)) : resolve(),
      );
    });
    const buffer: unknown = req.body;
    const text = Buffer.isBuffer(buffer) ? buffer.toString('utf8') : '';
    req.body = text.trim() === '' ? undefined : this.parse(text);
    next();
  }

  private parse(text: string): unknown {
    try {
      return parseJson(text);
    } catch (error) {
      const reason = error instanceof JsonParseError ? error.message : 'invalid JSON';
      throw new BadRequestException(`request body is not valid JSON: ${reason}`);
    }
  }

  private toHttpError(error: unknown): HttpException {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') {
      return new PayloadTooLargeException(
        `request body is larger than the limit of ${this.config.bodyLimitBytes} bytes`,
      );
    }
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return new HttpException(
        'request body encoding is not supported',
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      );
    }
    return new BadRequestException('request body could not be read');
  }
}
