import { Injectable, NotFoundException } from '@nestjs/common';
import { HandlerResultDto } from './handlers.dto';
import { HandlersRepository } from './handlers.repository';

@Injectable()
export class HandlersService {
  constructor(private readonly handlers: HandlersRepository) {}

  /** Registers or replaces the category's handler; pending tasks follow it at delivery time. */
  async register(cate: string, url: string): Promise<void> {
    await this.handlers.upsert(cate, url);
  }

  async get(cate: string): Promise<HandlerResultDto> {
    const row = await this.handlers.find(cate);
    if (!row) throw new NotFoundException('not found');
    return {
      cate: row.cate,
      handler: row.url,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }
}
