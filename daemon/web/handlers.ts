// GET / (the page), /_ui/api/<list> (its JSON), /_ui/app.js and /_ui/style.css.
// Read-only: nothing here writes to the root.
import type { Context, Middleware } from 'koa';
import { RegistryError } from '../../shared/errors.js';
import { accessOf } from '../auth/middleware.js';
import type { Registry } from '../../store/index.js';
import { digestQuery, nameQuery, pageOf, tagQuery, webApi } from './api.js';
import { APP_JS, STYLE_CSS } from './assets.js';
import { renderPage } from './page.js';
import { routeParams } from '../routes.js';

export interface WebHandlers {
  page: Middleware;
  api: Middleware;
  asset: Middleware;
}

export function webHandlers(reg: Registry): WebHandlers {
  const api = webApi(reg);
  return {
    async page(ctx: Context) {
      // The first page of repositories is in the HTML: something to see before any script runs.
      const first = await api.repositories(accessOf(ctx), '', { n: 100 });
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = renderPage(first);
    },

    async api(ctx: Context) {
      const q = ctx.query;
      const page = pageOf(q);
      const access = accessOf(ctx);
      ctx.set('Cache-Control', 'no-store');
      switch (routeParams(ctx).list) {
        case 'repositories':
          ctx.body = await api.repositories(access, typeof q.q === 'string' ? q.q : '', page);
          return;
        case 'tags':
          ctx.body = await api.tags(access, nameQuery(q.repo), page, { sort: q.sort === 'moved' ? 'moved' : 'name', q: typeof q.q === 'string' ? q.q : '' });
          return;
        case 'history':
          ctx.body = await api.history(access, nameQuery(q.repo), tagQuery(q.tag), page);
          return;
        case 'revision':
          ctx.body = await api.revision(access, nameQuery(q.repo), digestQuery(q.digest));
          return;
        default:
          throw new RegistryError('NOT_FOUND', `no endpoint at ${ctx.path}`);
      }
    },

    async asset(ctx: Context) {
      const js = routeParams(ctx).asset === 'app.js';
      ctx.type = js ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8';
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = js ? APP_JS : STYLE_CSS;
    },
  };
}
