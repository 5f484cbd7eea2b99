import express, { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { routeTemplate, UNMATCHED_ROUTE } from './route-template';

/**
 * An Express app laid out as Nest lays it out: app-wide middleware bound as a wildcard route
 * (which may answer itself, as the JSON body parser does on bad input), then the handlers' routes,
 * then a not-found handler.
 */
function appRecordingTemplates(): { app: express.Express; templates: string[] } {
  const templates: string[] = [];
  const app = express();
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.once('finish', () => templates.push(routeTemplate(req)));
    next();
  });
  app.all('/{*path}', (req: Request, res: Response, next: NextFunction) => {
    if (req.headers['x-reject'] === 'yes') res.status(400).end();
    else next();
  });
  app.get('/task/:cate/:key', (_req, res) => void res.status(404).end());
  app.post('/task/:cate', (_req, res) => void res.end());
  app.get('/tasks', (_req, res) => void res.end());
  app.use((_req: Request, res: Response) => void res.status(404).end());
  return { app, templates };
}

describe('routeTemplate', () => {
  it.each([
    ['GET', '/task/orders/18446744073709551615', '/task/:cate/:key'],
    ['HEAD', '/task/orders/1', '/task/:cate/:key'],
    ['POST', '/task/orders', '/task/:cate'],
    ['GET', '/tasks?cate=orders&limit=5', '/tasks'],
  ])('labels %s %s with its template %s', async (method, path, template) => {
    const { app, templates } = appRecordingTemplates();
    await request(app)[method.toLowerCase() as 'get'](path);
    expect(templates).toStrictEqual([template]);
  });

  it('finds the template of a request that a middleware answered before its handler', async () => {
    const { app, templates } = appRecordingTemplates();
    await request(app).post('/task/orders').set('X-Reject', 'yes');
    expect(templates).toStrictEqual(['/task/:cate']);
  });

  it.each([
    ['an unknown path', 'get', '/task/orders/1/extra'],
    ['an unknown path answered by a middleware', 'get', '/wp-login.php'],
    ['a known path with another method', 'put', '/task/orders'],
  ] as const)('labels %s as unmatched, never with the raw path', async (_what, method, path) => {
    const { app, templates } = appRecordingTemplates();
    await request(app)
      [method](path)
      .set('X-Reject', path === '/wp-login.php' ? 'yes' : 'no');
    expect(templates).toStrictEqual([UNMATCHED_ROUTE]);
  });
});
