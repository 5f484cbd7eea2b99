import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { buildDataSourceOptions, DatabaseSettings } from './data-source-options';
import { DispatchPool } from './dispatch-pool';
import { MigrationRunner } from './migration.runner';

/** Connection string of the database in use, for code that needs its own connection (LISTEN). */
export const DATABASE_URL = Symbol('DATABASE_URL');

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(settings: DatabaseSettings): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({
          ...buildDataSourceOptions(settings),
          retryAttempts: 5,
          retryDelay: 1000,
        }),
      ],
      providers: [
        { provide: DATABASE_URL, useValue: settings.url },
        { provide: DispatchPool, useFactory: () => new DispatchPool(settings.url, 4) },
        MigrationRunner,
      ],
      exports: [DATABASE_URL, DispatchPool, MigrationRunner],
    };
  }
}
