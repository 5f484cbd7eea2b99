import { isCategory, isTaskKey } from './uint64';

/** The dashboard's pages, from the location hash (the server only serves index.html). */
export type Route =
  | { page: 'overview' }
  | { page: 'category'; cate: string }
  | { page: 'task'; cate: string; key: string }
  | { page: 'find-task'; cate: string }
  | { page: 'audit'; cate: string }
  | { page: 'not-found'; hash: string };

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [path, query = ''] = raw.split('?', 2);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decode);
  if (parts.some((p) => p === null)) return { page: 'not-found', hash };
  const [first, second, third] = parts as string[];
  const params = new URLSearchParams(query);
  if (parts.length === 0) return { page: 'overview' };
  if (first === 'category' && parts.length === 2 && isCategory(second)) {
    return { page: 'category', cate: second };
  }
  if (first === 'task' && parts.length === 3 && isCategory(second) && isTaskKey(third)) {
    return { page: 'task', cate: second, key: third };
  }
  if (first === 'task' && parts.length <= 2) {
    return { page: 'find-task', cate: second ?? '' };
  }
  if (first === 'audit' && parts.length === 1) {
    return { page: 'audit', cate: params.get('cate') ?? '' };
  }
  return { page: 'not-found', hash };
}

export function routeHref(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'category':
      return `#/category/${encodeURIComponent(route.cate)}`;
    case 'task':
      return `#/task/${encodeURIComponent(route.cate)}/${route.key}`;
    case 'find-task':
      return route.cate ? `#/task/${encodeURIComponent(route.cate)}` : '#/task';
    case 'audit':
      return route.cate ? `#/audit?cate=${encodeURIComponent(route.cate)}` : '#/audit';
    case 'not-found':
      return route.hash;
  }
}

export const categoryHref = (cate: string): string => routeHref({ page: 'category', cate });
export const taskHref = (cate: string, key: string): string =>
  routeHref({ page: 'task', cate, key });
