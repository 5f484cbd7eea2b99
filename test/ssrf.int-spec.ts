import axios from 'axios';
import { once } from 'node:events';
import { Agent, createServer, Server } from 'node:http';
import { AddressInfo, LookupFunction, Socket } from 'node:net';
import request from 'supertest';
import { NetworkPolicy } from '../src/common/network-policy';
import { AppConfig } from '../src/config/app-config';
import {
  BlockedAddressError,
  blockedCause,
  ConnectionGuard,
  GuardedHttpAgent,
  GuardedHttpsAgent,
} from '../src/modules/dispatch/guarded-agent';
import { startTestApp } from './support/app';
import { useTestApp } from './support/fixtures';
import { uniqueName } from './support/names';
import { CallbackReceiver } from './support/receiver';
import { postTask, registerHandler, unixSeconds, waitFor } from './support/tasks-api';

/** Only 127.0.0.1, where the allowed receiver listens; the sentinel on 127.0.0.2 is refused. */
const config: Partial<AppConfig> = {
  callbackAllowCidrs: ['127.0.0.1/32'],
  callbackTimeoutMs: 1000,
  maxAttempts: 2,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 200,
  pollIntervalMs: 200,
  sweepIntervalMs: 200,
  leaseMarginMs: 500,
};

/** An HTTP server on 127.0.0.2 (all of 127/8 is on lo on Linux) that counts TCP connections. */
class Sentinel {
  connections = 0;
  private readonly server: Server = createServer((_req, res) => res.end('reached'));

  async start(port = 0): Promise<this> {
    this.server.on('connection', () => this.connections++);
    this.server.listen(port, '127.0.0.2');
    await once(this.server, 'listening');
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The same address, 127.0.0.2, in the spellings a URL may use. */
function spellingsOf127002(port: number): string[] {
  return [
    `http://127.0.0.2:${port}/cb`,
    `http://2130706434:${port}/cb`,
    `http://0x7f000002:${port}/cb`,
    `http://0177.0.0.2:${port}/cb`,
    `http://127.2:${port}/cb`,
    `http://[::ffff:127.0.0.2]:${port}/cb`,
    `http://[::ffff:7f00:2]:${port}/cb`,
  ];
}

/** A DNS lookup answering from a fixed table (both the one-address and the `all` form). */
function fakeLookup(table: Record<string, string[]>): LookupFunction {
  return (hostname, options, callback) => {
    const addresses = (table[hostname] ?? []).map((address) => ({ address, family: 4 }));
    if (addresses.length === 0) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
      });
      callback(error, '', 0);
    } else if (options.all) callback(null, addresses);
    else callback(null, addresses[0].address, 4);
  };
}

/** Hosts of every outgoing TCP connect started while `spy` was active. */
function connectHosts(spy: jest.SpyInstance): string[] {
  return spy.mock.calls.map((args: unknown[]) => {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const host = (first as { host?: unknown } | undefined)?.host;
    return typeof host === 'string' ? host : '';
  });
}

describe('SSRF guard', () => {
  const fixture = useTestApp(config);
  let sentinel: Sentinel;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    sentinel = await new Sentinel().start();
    fixture.onTeardown(() => sentinel.close());
    receiver = await fixture.receiver();
  });

  /** Registers a harmless handler, then points it at `url` behind the API's back. */
  async function categoryWithUrl(cate: string, url: string): Promise<void> {
    await registerHandler(fixture.app, cate, 'http://registered.example/cb');
    await fixture.db.query('UPDATE handlers SET url = $2 WHERE cate = $1', [cate, url]);
  }

  async function failedTask(cate: string): Promise<{ last_error: string; attempts: number }> {
    return waitFor(`task of ${cate} to fail`, async () => {
      const [row] = await fixture.db.query<{ state: string; last_error: string; attempts: number }>(
        'SELECT state, last_error, attempts FROM tasks WHERE cate = $1',
        [cate],
      );
      return row?.state === 'failed' ? row : undefined;
    });
  }

  async function outcomes(cate: string): Promise<string[]> {
    const rows = await fixture.db.query<{ outcome: string }>(
      'SELECT outcome FROM task_attempts WHERE cate = $1 ORDER BY attempt',
      [cate],
    );
    return rows.map((row) => row.outcome);
  }

  describe('on delivery', () => {
    it('blocks 127.0.0.2 in every spelling: zero connections, attempts recorded as blocked', async () => {
      const urls = spellingsOf127002(sentinel.port);
      for (const [index, url] of urls.entries()) {
        await categoryWithUrl(`spell${index}`, url);
        await postTask(fixture.app, `spell${index}`, { timestamp: unixSeconds(), key: 1 });
      }
      for (const index of urls.keys()) {
        const task = await failedTask(`spell${index}`);
        expect(task.attempts).toBe(2);
        expect(task.last_error).toMatch(
          /^blocked: .*127\.0\.0\.2\)? is refused by the callback network policy: loopback \(127\.0\.0\.0\/8\)/,
        );
        await expect(outcomes(`spell${index}`)).resolves.toEqual(['blocked', 'blocked']);
      }
      expect(sentinel.connections).toBe(0);
    });

    it('still delivers to the allowed 127.0.0.1', async () => {
      const allowed = await fixture.receiver();
      const cate = uniqueName('allowed');
      await registerHandler(fixture.app, cate, allowed.url());
      await postTask(fixture.app, cate, { timestamp: unixSeconds(), key: 1 });
      const [call] = await allowed.waitForCalls(1);
      expect(call.path).toBe('/callback');
      await waitFor('the success to be recorded', async () =>
        (await outcomes(cate)).includes('success'),
      );
      await expect(outcomes(cate)).resolves.toEqual(['success']);
    });

    it('refuses the cloud metadata address without opening a connection', async () => {
      const connect = jest.spyOn(Socket.prototype, 'connect');
      try {
        await categoryWithUrl('metadata', 'http://169.254.169.254/latest/meta-data/');
        await postTask(fixture.app, 'metadata', { timestamp: unixSeconds(), key: 1 });
        const task = await failedTask('metadata');
        expect(task.last_error).toBe(
          'blocked: 169.254.169.254 is refused by the callback network policy: cloud metadata ' +
            '(169.254.169.254/32); CALLBACK_ALLOW_CIDRS can allow it',
        );
        expect(connectHosts(connect).filter((host) => host.startsWith('169.254'))).toEqual([]);
        // The spy does see connections: one to the allowed receiver, on a fresh agent.
        await axios.post(receiver.url('/probe'), '{}', { httpAgent: new Agent(), proxy: false });
        expect(connectHosts(connect)).toContain('127.0.0.1');
      } finally {
        connect.mockRestore();
      }
    });
  });

  describe('at registration', () => {
    it.each(spellingsOf127002(8080))(
      'refuses the handler %s with a 400 naming the rule',
      async (url) => {
        const res = await request(fixture.app.getHttpServer())
          .post('/handler/reg')
          .send({ handler: url });
        expect(res.status).toBe(400);
        expect(res.body).toStrictEqual({
          code: 400,
          msg: expect.stringMatching(
            /^handler address .*127\.0\.0\.2\)? is refused by the callback network policy: loopback \(127\.0\.0\.0\/8\); CALLBACK_ALLOW_CIDRS can allow it$/,
          ) as unknown,
        });
        await expect(
          fixture.db.query(`SELECT cate FROM handlers WHERE cate = 'reg'`),
        ).resolves.toEqual([]);
      },
    );

    it('refuses a task whose own handler is the metadata address, and writes nothing', async () => {
      const res = await request(fixture.app.getHttpServer())
        .post('/task/own')
        .send({ timestamp: unixSeconds(60_000), key: 1, handler: 'http://[fd00:ec2::254]/' });
      expect(res.status).toBe(400);
      expect(res.body.msg).toMatch(/^handler address fd00:ec2::254 is refused .*cloud metadata/);
      await expect(fixture.db.query(`SELECT id FROM tasks WHERE cate = 'own'`)).resolves.toEqual(
        [],
      );
    });

    it('accepts allowed literal addresses, private ranges and host names', async () => {
      for (const handler of [
        'http://127.0.0.1:9/cb',
        'http://10.1.2.3/cb',
        'http://[fd12::1]/cb',
        'https://hooks.example.com/cb',
      ]) {
        const res = await request(fixture.app.getHttpServer())
          .post('/handler/ok')
          .send({ handler });
        expect(res.status).toBe(200);
      }
    });

    it('refuses private ranges too under CALLBACK_NETWORK_POLICY=public', async () => {
      const strict = await startTestApp(fixture.db.url, {
        ...config,
        dispatchEnabled: false,
        callbackNetworkPolicy: 'public',
      });
      try {
        const res = await request(strict.getHttpServer())
          .post('/handler/strict')
          .send({ handler: 'http://192.168.1.10/cb' });
        expect(res.status).toBe(400);
        expect(res.body.msg).toBe(
          'handler address 192.168.1.10 is refused by the callback network policy: private ' +
            '(192.168.0.0/16) under CALLBACK_NETWORK_POLICY=public; CALLBACK_ALLOW_CIDRS can allow it',
        );
      } finally {
        await strict.close();
      }
    });
  });

  describe('the guarded agent', () => {
    const policy = new NetworkPolicy({
      callbackNetworkPolicy: 'private',
      callbackAllowCidrs: ['127.0.0.1/32'],
    });
    const lookup = fakeLookup({
      'sentinel.test': ['127.0.0.2'],
      'metadata.test': ['169.254.169.254'],
      'mixed.test': ['127.0.0.2', '127.0.0.1'],
    });
    let agent: GuardedHttpAgent;

    beforeEach(() => {
      agent = new GuardedHttpAgent(new ConnectionGuard(policy, lookup), { keepAlive: true });
    });

    afterEach(() => agent.destroy());

    /** POSTs through the agent as CallbackClient does; the error when the request fails. */
    async function post(url: string): Promise<unknown> {
      try {
        await axios.post(url, '{}', { httpAgent: agent, proxy: false, maxRedirects: 0 });
        return undefined;
      } catch (error) {
        return error;
      }
    }

    it('refuses a host name that resolves to a refused address, after DNS, before connecting', async () => {
      const before = sentinel.connections;
      const error = await post(`http://sentinel.test:${sentinel.port}/cb`);
      expect(blockedCause(error)?.message).toBe(
        'sentinel.test resolved to 127.0.0.2, which is refused by the callback network policy: ' +
          'loopback (127.0.0.0/8); CALLBACK_ALLOW_CIDRS can allow it',
      );
      expect(sentinel.connections).toBe(before);
    });

    it('refuses a literal address given straight to the agent (no URL check before it)', async () => {
      const before = sentinel.connections;
      const error = await post(`http://127.0.0.2:${sentinel.port}/cb`);
      expect(blockedCause(error)).toBeInstanceOf(BlockedAddressError);
      expect(sentinel.connections).toBe(before);
    });

    it('guards https the same way: no connection, so no TLS handshake either', async () => {
      const httpsAgent = new GuardedHttpsAgent(new ConnectionGuard(policy, lookup));
      const before = sentinel.connections;
      try {
        await axios.post(`https://sentinel.test:${sentinel.port}/cb`, '{}', {
          httpsAgent,
          proxy: false,
        });
        throw new Error('the request went through');
      } catch (error) {
        expect(blockedCause(error)?.message).toMatch(/^sentinel\.test resolved to 127\.0\.0\.2,/);
      } finally {
        httpsAgent.destroy();
      }
      expect(sentinel.connections).toBe(before);
    });

    it('refuses a name resolving to the metadata address', async () => {
      const error = await post('http://metadata.test/latest/meta-data/');
      expect(blockedCause(error)?.message).toMatch(
        /^metadata\.test resolved to 169\.254\.169\.254, which is refused .*: cloud metadata/,
      );
    });

    it('dials only the allowed addresses of a name that resolves to several', async () => {
      // A twin of the receiver on 127.0.0.2, same port: dialling the refused address would reach it.
      const port = Number(new URL(receiver.url()).port);
      const twin = await new Sentinel().start(port);
      try {
        const calls = receiver.calls.length;
        await expect(post(`http://mixed.test:${port}/mixed`)).resolves.toBeUndefined();
        expect(receiver.calls.length).toBe(calls + 1);
        expect(twin.connections).toBe(0);
      } finally {
        await twin.close();
      }
    });
  });
});
