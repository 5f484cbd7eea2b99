import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rowsOf } from '../../database/query-rows';

export interface HandlerRow {
  cate: string;
  url: string;
  created_at: Date;
  updated_at: Date;
}

@Injectable()
export class HandlersRepository {
  constructor(private readonly dataSource: DataSource) {}

  async upsert(cate: string, url: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO handlers (cate, url) VALUES ($1::text, $2::text)
       ON CONFLICT (cate) DO UPDATE SET url = excluded.url, updated_at = now()`,
      [cate, url],
    );
  }

  async find(cate: string): Promise<HandlerRow | undefined> {
    const rows = rowsOf<HandlerRow>(
      await this.dataSource.query(
        `SELECT cate, url, created_at, updated_at FROM handlers WHERE cate = $1::text`,
        [cate],
      ),
    );
    return rows[0];
  }
}
