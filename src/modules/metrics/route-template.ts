import { Request } from 'express';

/** The route label of requests that match no route (unknown paths, unsupported methods). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The parts of Express's router these functions read. */
interface RouteLayer {
  route?: { path?: unknown; _handlesMethod?(method: string): boolean };
  match?(path: string): unknown;
}

/**
 * The route template of a served request (`/task/:cate/:key`), never the raw path: a label per
 * key would make series without bound. Express records the last route it dispatched to. Nest
 * binds app-wide middleware as wildcard routes (`/{*path}`), so a request that a middleware
 * answered (a body that is not JSON) or that matched no handler still shows one of those; its
 * template is then looked up among the app's routes.
 */
export function routeTemplate(req: Request): string {
  const dispatched = (req.route as RouteLayer['route'])?.path;
  if (isTemplate(dispatched)) return dispatched;
  return lookUpRoute(req) ?? UNMATCHED_ROUTE;
}

function isTemplate(path: unknown): path is string {
  return typeof path === 'string' && !path.includes('*');
}

/** Reads Express's router stack, an internal: whatever does not look as expected is unmatched. */
function lookUpRoute(req: Request): string | undefined {
  const router = (req.app as unknown as { router?: { stack?: unknown } } | undefined)?.router;
  const stack = Array.isArray(router?.stack) ? (router.stack as RouteLayer[]) : [];
  const path = (req.originalUrl ?? req.url).split('?')[0];
  try {
    for (const layer of stack) {
      const route = layer.route;
      if (!isTemplate(route?.path) || !route._handlesMethod?.(req.method)) continue;
      if (layer.match?.(path)) return route.path;
    }
  } catch {
    // A path the router itself cannot decode matches nothing.
  }
  return undefined;
}
