import { createCliDataSource } from './src/database/cli-data-source';

// Used by the TypeORM CLI (npm run migration:generate); needs DATABASE_URL. Migrations are applied
// by `npm run migration:run` (src/database/migrate.cli.ts), under the start-up's advisory lock.
export default createCliDataSource();
