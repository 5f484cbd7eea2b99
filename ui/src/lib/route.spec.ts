import { parseRoute, routeHref, taskHref } from './route';

describe('parseRoute', () => {
  it('reads every page from the hash', () => {
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/')).toEqual({ page: 'overview' });
    expect(parseRoute('#/category/orders')).toEqual({ page: 'category', cate: 'orders' });
    expect(parseRoute('#/task/orders/18446744073709551615')).toEqual({
      page: 'task',
      cate: 'orders',
      key: '18446744073709551615',
    });
    expect(parseRoute('#/task')).toEqual({ page: 'find-task', cate: '' });
    expect(parseRoute('#/task/orders')).toEqual({ page: 'find-task', cate: 'orders' });
    expect(parseRoute('#/audit')).toEqual({ page: 'audit', cate: '' });
    expect(parseRoute('#/audit?cate=orders')).toEqual({ page: 'audit', cate: 'orders' });
  });

  it('sends bad keys, categories and paths to not-found', () => {
    for (const hash of [
      '#/task/orders/0',
      '#/task/orders/18446744073709551616',
      '#/category/a%2Fb',
      '#/nope',
      '#/category/%E0%A4%A',
    ]) {
      expect(parseRoute(hash).page).toBe('not-found');
    }
  });

  it('round-trips through routeHref', () => {
    const href = taskHref('a:b.c', '18446744073709551615');
    expect(parseRoute(href)).toEqual({ page: 'task', cate: 'a:b.c', key: '18446744073709551615' });
    expect(parseRoute(routeHref({ page: 'audit', cate: 'x' }))).toEqual({
      page: 'audit',
      cate: 'x',
    });
  });
});
