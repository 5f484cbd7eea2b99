import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { useTestApp } from './support/fixtures';
import { registerHandler, unixSeconds } from './support/tasks-api';

/** Every prototype-named key, at several depths, and an integer beyond 2^64. */
const PARAMS =
  '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":1}},' +
  '"list":[{"prototype":null,"__proto__":[1]}],"n":18446744073709551616}';
/** Spaces, escapes and number forms a client may send: kept as sent, not rewritten. */
const SPACED = '{ "b" : [1.50, 1E5, -0, 1e-400],\n\t"a\\u0041": "\\/", "__proto__" : { } }';

const config: Partial<AppConfig> = { pollIntervalMs: 200, callbackTimeoutMs: 1000 };

describe('params are kept and delivered as given', () => {
  const fixture = useTestApp(config);
  const http = () => request(fixture.app.getHttpServer());

  const post = (path: string, body: string) =>
    http().post(path).set('Content-Type', 'application/json').send(body);

  async function storedParams(cate: string): Promise<string[]> {
    const rows = await fixture.db.query<{ params: string }>(
      'SELECT params::text AS params FROM tasks WHERE cate = $1 ORDER BY key',
      [cate],
    );
    return rows.map((row) => row.params);
  }

  it.each([
    ['prototype-named keys', PARAMS],
    ['spaces, escapes and number forms', SPACED],
  ])('stores and returns params with %s byte for byte', async (_name, params) => {
    const cate = `given-${params.length}`;
    const timestamp = unixSeconds(3_600_000);
    const res = await post(
      `/task/${cate}`,
      `{"timestamp":${timestamp},"key":1,"params":${params}}`,
    );
    expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });

    expect(await storedParams(cate)).toStrictEqual([params]);
    const get = await http().get(`/task/${cate}/1`);
    expect(get.status).toBe(200);
    expect(get.text).toContain(`"params":${params},`);
    const list = await http().get(`/tasks?cate=${cate}`);
    expect(list.text).toContain(`"params":${params},`);
  });

  it('returns __proto__, constructor and prototype as own keys of params, in order', async () => {
    await post('/task/keys', `{"timestamp":${unixSeconds(3_600_000)},"key":1,"params":${PARAMS}}`);
    const { params } = (await http().get('/task/keys/1')).body.result;
    expect(Object.keys(params)).toStrictEqual(['__proto__', 'constructor', 'list', 'n']);
    expect(Object.keys(params.constructor)).toStrictEqual(['prototype']);
    expect(Object.keys(params.list[0])).toStrictEqual(['prototype', '__proto__']);
  });

  it('delivers them byte for byte, in their order, in the callback body', async () => {
    const receiver = await fixture.receiver();
    await registerHandler(fixture.app, 'cb', receiver.url());
    for (const [key, params] of [PARAMS, SPACED].entries()) {
      const res = await post(
        '/task/cb',
        `{"timestamp":${unixSeconds()},"key":${key + 1},"params":${params}}`,
      );
      expect(res.status).toBe(200);
    }

    const calls = await receiver.waitForCalls(2, 10_000);
    expect(calls.map((call) => call.body).sort()).toStrictEqual([
      `{"cate":"cb","inAdvance":false,"key":1,"params":${PARAMS}}`,
      `{"cate":"cb","inAdvance":false,"key":2,"params":${SPACED}}`,
    ]);
  });

  it('delivers every task of a batch as given', async () => {
    const receiver = await fixture.receiver();
    await registerHandler(fixture.app, 'batch', receiver.url());
    const due = unixSeconds();
    const res = await post(
      '/tasks/batch',
      `{"tasks":[{"timestamp":${due},"key":1,"params":${PARAMS}},` +
        `{"timestamp":${due},"key":2,"params":${SPACED}}]}`,
    );
    expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 2 } });

    const calls = await receiver.waitForCalls(2, 10_000);
    expect(calls.map((call) => call.body).sort()).toStrictEqual([
      `{"cate":"batch","inAdvance":false,"key":1,"params":${PARAMS}}`,
      `{"cate":"batch","inAdvance":false,"key":2,"params":${SPACED}}`,
    ]);
  });

  it('pollutes no prototype on the way', () => {
    // The app runs in this process: a polluted Object.prototype would show here.
    expect(Object.prototype).not.toHaveProperty('isAdmin');
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});
