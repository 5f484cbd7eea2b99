import { maskQuerySecrets, maskUrlSecrets } from './url-secrets';

describe('maskUrlSecrets', () => {
  it.each([
    ['http://user:secret@host.example/hook', 'http://user:***@host.example/hook'],
    ['https://user:p%40ss@host.example:8443/', 'https://user:***@host.example:8443/'],
    ['http://host.example/hook?token=abc', 'http://host.example/hook?token=***'],
    [
      'http://user:secret@host.example/hook?token=t1&page=2&api_key=k1#top',
      'http://user:***@host.example/hook?token=***&page=2&api_key=***#top',
    ],
    [
      'http://h.example/?ACCESS_TOKEN=a&ApiKey=b&key=c',
      'http://h.example/?ACCESS_TOKEN=***&ApiKey=***&key=***',
    ],
    ['http://h.example/?%74oken=a&api%5Fkey=b', 'http://h.example/?%74oken=***&api%5Fkey=***'],
  ])('masks %s', (url, masked) => {
    expect(maskUrlSecrets(url)).toBe(masked);
  });

  it.each([
    'http://10.0.0.5:8080/hooks/orders',
    'http://user@host.example/hook',
    'http://host.example/hook?page=2&tokens=1&monkey=2&key',
    'http://host.example/hook#token=abc',
    'http://host.example/a%20b?x=%E2%82%AC',
  ])('leaves %s exactly as written', (url) => {
    expect(maskUrlSecrets(url)).toBe(url);
  });
});

describe('maskQuerySecrets', () => {
  it("redacts a request's secret query values and keeps the rest as written", () => {
    expect(maskQuerySecrets('/tasks?token=t&limit=5&apikey=k&key=x', '[redacted]')).toBe(
      '/tasks?token=[redacted]&limit=5&apikey=[redacted]&key=[redacted]',
    );
  });

  it('keeps a URL with a malformed escape in a parameter name', () => {
    expect(maskQuerySecrets('/tasks?%zz=1&token=t', '[r]')).toBe('/tasks?%zz=1&token=[r]');
  });
});
