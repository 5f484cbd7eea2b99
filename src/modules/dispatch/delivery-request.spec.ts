import { Webhook } from 'standardwebhooks';
import { ClaimedTask } from './queue.types';
import { buildDeliveryRequest, DELIVERY_HEADERS } from './delivery-request';
import { WEBHOOK_HEADERS } from './webhook-signature';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function claimed(overrides: Partial<ClaimedTask> = {}): ClaimedTask {
  return {
    id: '1',
    claim_token: 1,
    attempts: 1,
    cate: 'orders',
    key: '42',
    params: '{"b":1,"a":[2,3]}',
    in_advance: false,
    delivery_id: '0b7f8a52-4c1e-4a3f-9a4d-2f6f3c1d9e10',
    due_epoch: '1893456000.000000',
    handler_url: 'http://127.0.0.1:9/callback',
    max_attempts: null,
    timeout_ms: null,
    concurrency: null,
    secrets: [],
    ...overrides,
  };
}

describe('buildDeliveryRequest', () => {
  it('writes the body exactly as the original: cate, inAdvance, key, params in that order', () => {
    expect(buildDeliveryRequest(claimed()).body).toBe(
      '{"cate":"orders","inAdvance":false,"key":42,"params":{"b":1,"a":[2,3]}}',
    );
  });

  it('writes the largest uint64 key and big integers in params as bare integers', () => {
    const { body } = buildDeliveryRequest(
      claimed({ key: '18446744073709551615', params: '{"n":123456789012345678901234567890}' }),
    );
    expect(body).toBe(
      '{"cate":"orders","inAdvance":false,"key":18446744073709551615,' +
        '"params":{"n":123456789012345678901234567890}}',
    );
  });

  it('marks a task executed ahead of time with inAdvance true', () => {
    expect(buildDeliveryRequest(claimed({ in_advance: true })).body).toContain('"inAdvance":true');
  });

  it.each(['null', '"text"', '7', '[1,{"x":null}]'])('delivers params %s verbatim', (params) => {
    const { body } = buildDeliveryRequest(claimed({ params }));
    expect(body.endsWith(`"params":${params}}`)).toBe(true);
    expect(() => JSON.parse(body) as unknown).not.toThrow();
  });

  it('sends X-Schedule-Time (Unix seconds) for an occurrence of a schedule, and only then', () => {
    const occurrence = buildDeliveryRequest(claimed({ from_schedule: true }));
    expect(occurrence.headers[DELIVERY_HEADERS.scheduleTime]).toBe('1893456000');
    expect(occurrence.body).toBe(buildDeliveryRequest(claimed()).body);
    expect(buildDeliveryRequest(claimed()).headers).not.toHaveProperty(
      DELIVERY_HEADERS.scheduleTime,
    );
    expect(buildDeliveryRequest(claimed({ from_schedule: false })).headers).not.toHaveProperty(
      DELIVERY_HEADERS.scheduleTime,
    );
  });

  it('escapes the category as a JSON string', () => {
    const { body } = buildDeliveryRequest(claimed({ cate: 'a.b:c-d_e' }));
    expect(body.startsWith('{"cate":"a.b:c-d_e",')).toBe(true);
  });

  it('sends JSON content type, delivery id, attempt number and due time as headers', () => {
    const { headers } = buildDeliveryRequest(
      claimed({ attempts: 3, due_epoch: '1893456000.250000' }),
    );
    expect(headers).toMatchObject({
      'content-type': 'application/json; charset=UTF-8',
      [DELIVERY_HEADERS.id]: '0b7f8a52-4c1e-4a3f-9a4d-2f6f3c1d9e10',
      [DELIVERY_HEADERS.attempt]: '3',
      [DELIVERY_HEADERS.due]: '1893456000.25',
    });
    expect(headers['user-agent']).toMatch(/^delay-tasks\//);
  });

  it('gives a whole-second due time without a fraction', () => {
    const { headers } = buildDeliveryRequest(claimed({ due_epoch: '1893456000.000000' }));
    expect(headers[DELIVERY_HEADERS.due]).toBe('1893456000');
  });

  it('refuses a key that is not an integer rather than send broken JSON', () => {
    expect(() => buildDeliveryRequest(claimed({ key: '1e3' }))).toThrow(/not an integer/);
    expect(() => buildDeliveryRequest(claimed({ key: '1,"x":2' }))).toThrow(/not an integer/);
  });

  it('sends no webhook-* headers for a category without secrets', () => {
    const { headers } = buildDeliveryRequest(claimed());
    expect(Object.keys(headers).filter((name) => name.startsWith('webhook-'))).toEqual([]);
  });

  it('signs for a category with secrets: the delivery id, the attempt time, the exact body', () => {
    const nowMs = Date.now();
    const { body, headers } = buildDeliveryRequest(claimed({ secrets: [SECRET] }), nowMs);
    expect(headers[WEBHOOK_HEADERS.id]).toBe('0b7f8a52-4c1e-4a3f-9a4d-2f6f3c1d9e10');
    expect(headers[WEBHOOK_HEADERS.timestamp]).toBe(String(Math.floor(nowMs / 1000)));
    expect(() => new Webhook(SECRET).verify(body, headers)).not.toThrow();
  });

  it('fails the attempt rather than send an unverifiable delivery for a malformed secret', () => {
    expect(() => buildDeliveryRequest(claimed({ secrets: ['whsec_%%'] }))).toThrow(
      /signing secret is not whsec_/,
    );
  });
});
