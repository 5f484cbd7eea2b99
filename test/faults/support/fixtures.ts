import { TestDatabase } from '../../support/database';
import { useTestDatabase } from '../../support/fixtures';
import { ReceiverProcess } from '../../support/receiver';
import { Pg } from './pg';
import { Replicas } from './replicas';

/**
 * What a fault scenario runs against. Read db, pg and receiver inside tests and hooks: they are
 * set by the block's beforeAll.
 */
export interface FaultFixture {
  /** The service processes the scenario starts; all stopped after its tests. */
  readonly replicas: Replicas;
  /** A database cloned from the migrated template. */
  readonly db: TestDatabase;
  /** A pool on that database for the scenario's own queries; it outlives terminated connections. */
  readonly pg: Pg;
  /** The callback receiver in its own process, which outlives replicas killed or stopped. */
  readonly receiver: ReceiverProcess;
}

/**
 * Registers the block's beforeAll (the database, a pool on it, the receiver process) and afterAll
 * (the replicas stopped first, then the receiver, the pool and the database).
 */
export function useFaultFixture(): FaultFixture {
  const base = useTestDatabase();
  const replicas = new Replicas();
  let pg: Pg | undefined;
  let receiver: ReceiverProcess | undefined;

  base.onTeardown(() => replicas.stopAll());
  base.onTeardown(() => receiver?.close());
  base.onTeardown(() => pg?.close());

  beforeAll(async () => {
    pg = new Pg(base.db.url);
    receiver = await ReceiverProcess.start();
  });

  return {
    replicas,
    get db() {
      return base.db;
    },
    get pg(): Pg {
      if (!pg) throw new Error('the pool is set in beforeAll: read it in tests or hooks');
      return pg;
    },
    get receiver(): ReceiverProcess {
      if (!receiver) throw new Error('the receiver is set in beforeAll: read it in tests or hooks');
      return receiver;
    },
  };
}
