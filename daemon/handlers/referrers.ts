// GET /v2/<name>/referrers/<digest>?artifactType=  (OCI Distribution Spec v1.1)
import type { Context } from 'koa';
import { MediaTypes, parseManifest } from '../../shared/manifest.js';
import { digestString } from '../../shared/reference.js';
import { digestParam, nameParam, queryOne } from '../params.js';
import type { Registry } from '../../store/index.js';
import { routeParams } from '../routes.js';
import type { PullThrough } from '../pullthrough/cache.js';

export function referrerHandlers(reg: Registry, pullThrough?: PullThrough) {
  return {
    async list(ctx: Context): Promise<void> {
      const name = nameParam(routeParams(ctx).name);
      const subject = digestParam(routeParams(ctx).digest);
      const src = pullThrough?.source(name);
      if (src) await pullThrough!.referrers(name, src, subject); // a cached repository asks its upstream first
      const wanted = queryOne(ctx.query.artifactType);
      const manifests = [];
      for (const d of await reg.repos.listReferrers(name, subject)) {
        const r = await reg.manifests.resolve(name, { digest: d }).catch(() => undefined);
        if (!r) continue; // unlinked since: the referrer link is stale
        const m = parseManifest(await reg.manifests.body(r), r.mediaType);
        const config = m.json.config as { mediaType?: string } | undefined;
        const artifactType = m.artifactType ?? config?.mediaType;
        if (wanted !== undefined && artifactType !== wanted) continue;
        manifests.push({
          mediaType: r.mediaType,
          digest: digestString(d),
          size: r.size,
          ...(artifactType !== undefined && { artifactType }),
          ...(m.annotations && { annotations: m.annotations }),
        });
      }
      if (wanted !== undefined) ctx.set('OCI-Filters-Applied', 'artifactType');
      ctx.type = MediaTypes.ociIndex;
      ctx.body = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
    },
  };
}
