import { losslessFetch } from './lossless-fetch';
import { RawJson } from '../lib/lossless-json';

const answer = (body: string | null, init: ResponseInit = {}) =>
  losslessFetch(() =>
    Promise.resolve(
      new Response(body, {
        status: 200,
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        ...init,
      }),
    ),
  )(new Request('http://service.test/task/orders/18446744073709551615'));

describe('losslessFetch', () => {
  it('gives a json() that keeps keys and params exact', async () => {
    const res = await answer(
      '{"code":200,"msg":"OK","result":{"key":18446744073709551615,"params":{"id":9007199254740993}}}',
    );
    const data = (await res.json()) as { result: { key: string; params: RawJson } };
    expect(data.result.key).toBe('18446744073709551615');
    expect(data.result.params.text).toBe('{"id":9007199254740993}');
  });

  it('sets Content-Length, so openapi-fetch calls json() rather than JSON.parse', async () => {
    const res = await answer('{"msg":"é"}');
    expect(res.headers.get('Content-Length')).toBe(String(Buffer.byteLength('{"msg":"é"}')));
  });

  it('keeps status and text of error answers', async () => {
    const res = await answer('{"code":401,"msg":"missing or invalid API key"}', { status: 401 });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('{"code":401,"msg":"missing or invalid API key"}');
  });

  it('passes other answers through untouched', async () => {
    const res = await answer('OK', { headers: { 'Content-Type': 'text/plain' } });
    expect(await res.text()).toBe('OK');
    const empty = await answer(null, { status: 204 });
    expect(empty.status).toBe(204);
  });
});
