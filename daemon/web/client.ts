// The page's script, written as one self-contained function so tsc checks it; the
// daemon serves its compiled text (see assets.ts). No framework: fetch JSON, build
// DOM, keep the place in the URL hash (#repo=…&tag=…&rev=…) so Back and links work.
/* eslint-disable */
export function client(): void {
  type Json = any;
  const $ = (sel: string) => document.querySelector(sel) as HTMLElement;
  const view = $('#view');
  const PAGE = 50;

  function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string | null | undefined)[]): HTMLElement {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') el.className = v;
      else el.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) el.append(c);
    return el;
  }

  async function get(path: string, params: Record<string, string | undefined>): Promise<Json> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.set(k, v);
    const res = await fetch(`${path}?${qs}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body?.errors?.[0]?.message ?? `HTTP ${res.status}`);
    return body;
  }

  const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
  function bytes(n: number | undefined): string {
    if (n === undefined || n === null) return '—';
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    let v = n;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${i ? v.toFixed(1) : v} ${units[i]}`;
  }
  function ago(iso: string | undefined): string {
    if (!iso) return '';
    const s = (Date.now() - Date.parse(iso)) / 1000;
    if (s < 60) return 'just now';
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }
  function when(iso: string | undefined): HTMLElement {
    return h('time', { datetime: iso ?? '', title: iso ?? '' }, iso ? `${new Date(iso).toLocaleString()} · ${ago(iso)}` : '');
  }
  const kind = (mt: string | undefined) =>
    ({
      'application/vnd.oci.image.manifest.v1+json': 'OCI image',
      'application/vnd.oci.image.index.v1+json': 'OCI index',
      'application/vnd.docker.distribution.manifest.v2+json': 'Docker v2',
      'application/vnd.docker.distribution.manifest.list.v2+json': 'Docker list',
      'application/vnd.docker.distribution.manifest.v1+prettyjws': 'schema1 signed',
      'application/vnd.docker.distribution.manifest.v1+json': 'schema1',
    })[mt ?? ''] ?? mt ?? '';

  // Copying: the clipboard when the browser allows it, a selected textarea otherwise.
  // window.__cairnCopied records the last text, for tests and the curious.
  const toast = $('#toast');
  let toastTimer: number | undefined;
  async function copy(text: string): Promise<void> {
    (window as Json).__cairnCopied = text;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = h('textarea') as HTMLTextAreaElement;
      ta.value = text;
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    toast.textContent = `Copied ${text}`;
    toast.classList.add('show');
    clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => toast.classList.remove('show'), 2500);
  }
  function copyButton(label: string, text: string): HTMLElement {
    const b = h('button', { type: 'button', class: 'copy', title: text, 'data-copy': text }, label);
    b.addEventListener('click', () => void copy(text));
    return b;
  }

  function link(params: Record<string, string | undefined>, ...children: (Node | string | null)[]): HTMLElement {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.set(k, v);
    return h('a', { href: `#${qs}` }, ...children);
  }

  // Repositories: search and pages.
  const list = $('#repo-list');
  const count = $('#repo-count');
  let searchSeq = 0;
  function repoItem(r: Json): HTMLElement {
    const cached = r.upstream ? h('span', { class: 'badge cached', title: `cached from ${r.upstream}` }, 'cached') : null;
    const a = link({ repo: r.name }, h('span', { class: 'name' }, r.name), cached, h('span', { class: 'count' }, `${r.tags} tag${r.tags === 1 ? '' : 's'}`));
    a.dataset.repo = r.name;
    return h('li', {}, a);
  }
  async function loadRepos(q: string, last?: string): Promise<void> {
    const seq = ++searchSeq;
    const data = await get('/_ui/api/repositories', { q, n: '100', last });
    if (seq !== searchSeq) return; // a newer search won
    if (!last) list.replaceChildren();
    for (const r of data.repositories) list.append(repoItem(r));
    count.textContent = `${data.total} repositor${data.total === 1 ? 'y' : 'ies'}${q ? ` matching “${q}”` : ''}`;
    document.getElementById('more-repos')?.remove();
    if (data.next) {
      const more = h('button', { type: 'button', id: 'more-repos' }, 'more…');
      more.addEventListener('click', () => void loadRepos(q, data.next));
      list.after(more);
    }
    markSelected();
  }
  const search = $('#search') as HTMLInputElement;
  let searchTimer: number | undefined;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => void loadRepos(search.value), 150);
  });
  document.getElementById('more-repos')?.addEventListener('click', (e) => void loadRepos('', (e.target as HTMLElement).dataset.last));

  function markSelected(): void {
    const repo = new URLSearchParams(location.hash.slice(1)).get('repo');
    for (const a of list.querySelectorAll<HTMLElement>('a[data-repo]')) a.classList.toggle('selected', a.dataset.repo === repo);
  }

  // A repository: its tags; a tag: its timeline; a revision: everything about it.
  // Each view is built whole and then swapped in, so nothing jumps while it loads.
  async function showRepo(repo: string, tag?: string): Promise<void> {
    const p = new URLSearchParams(location.hash.slice(1));
    const sort = p.get('sort') === 'moved' ? 'moved' : 'name';
    const q = p.get('q') ?? '';
    const tagsBox = h('div', { class: 'tags' });
    const timeline = h('div', { class: 'timeline-box' });
    const filter = h('input', { type: 'search', id: 'tag-filter', placeholder: 'Filter tags', 'aria-label': 'Filter tags', value: q }) as HTMLInputElement;
    const sorter = h('select', { id: 'tag-sort', 'aria-label': 'Sort tags' }, h('option', { value: 'name' }, 'by name'), h('option', { value: 'moved' }, 'last moved first')) as HTMLSelectElement;
    sorter.value = sort;
    const total = h('span', { class: 'muted', id: 'tag-total' });
    const controls = h('div', { class: 'controls' }, filter, sorter, total);
    const relink = () => {
      const next = new URLSearchParams({ repo, ...(tag ? { tag } : {}), ...(filter.value ? { q: filter.value } : {}), ...(sorter.value === 'moved' ? { sort: 'moved' } : {}) });
      history.replaceState(null, '', `#${next}`);
      void showRepo(repo, tag).then(() => (document.getElementById('tag-filter') as HTMLInputElement | null)?.focus());
    };
    let filterTimer: number | undefined;
    filter.addEventListener('input', () => {
      clearTimeout(filterTimer);
      filterTimer = window.setTimeout(relink, 200);
    });
    sorter.addEventListener('change', relink);
    const table = h('table', { class: 'tag-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'tag'), h('th', {}, 'current'), h('th', {}, 'moved'), h('th', {}, 'revisions'))));
    const tbody = h('tbody');
    table.append(tbody);
    tagsBox.append(h('div', { class: 'scroll' }, table));
    const loadTags = async (last?: string) => {
      const data = await get('/_ui/api/tags', { repo, n: String(PAGE), last, sort, q: q || undefined });
      total.textContent = `${data.total} tag${data.total === 1 ? '' : 's'}${q ? ` matching “${q}”` : ''}`;
      if (data.upstream) {
        cachedNote.replaceChildren(h('span', { class: 'badge cached' }, 'cached'), ` from ${data.upstream}: filled by pulls; every revision it has held stays pullable by digest`);
        cachedNote.hidden = false;
      }
      for (const t of data.tags) {
        const row = h(
          'tr',
          { class: t.tag === tag ? 'selected' : '', 'data-tag': t.tag },
          h('td', {}, link({ repo, tag: t.tag }, t.tag)),
          h('td', { class: 'mono' }, t.current ? short(t.current) : '—'),
          h('td', {}, when(t.taggedAt)),
          h('td', { class: 'num' }, String(t.revisions)),
        );
        tbody.append(row);
      }
      if (!data.tags.length && !last) tbody.append(h('tr', {}, h('td', { colspan: '4', class: 'muted' }, q ? 'no tag matches' : 'no tags (untagged revisions only)')));
      tagsBox.querySelector('.more')?.remove();
      if (data.next) {
        const more = h('button', { type: 'button', class: 'more' }, 'more tags…');
        more.addEventListener('click', () => void loadTags(data.next));
        tagsBox.append(more);
      }
    };
    await loadTags();
    if (tag) await showTimeline(timeline, repo, tag);
    const cachedNote = h('p', { class: 'cached-from', hidden: '' });
    view.replaceChildren(h('h2', {}, repo), cachedNote, h('p', { class: 'muted' }, 'Tags — pick one to see every revision it has pointed at.'), controls, tagsBox, timeline);
  }

  async function showTimeline(box: HTMLElement, repo: string, tag: string): Promise<void> {
    const ol = h('ol', { class: 'timeline', 'data-tag': tag });
    const heading = h('h3', {}, `${repo}:${tag}`);
    box.replaceChildren(heading, ol);
    const load = async (last?: string) => {
      const data = await get('/_ui/api/history', { repo, tag, n: String(PAGE), last });
      heading.textContent = `${repo}:${tag} — ${data.total} revision${data.total === 1 ? '' : 's'}`;
      for (const e of data.entries) {
        const li = h(
          'li',
          { class: e.current ? 'entry current' : 'entry', 'data-digest': e.digest },
          h('span', { class: 'dot' }),
          h(
            'div',
            { class: 'body' },
            h('div', { class: 'line' }, link({ repo, tag, rev: e.digest }, h('code', { class: 'digest' }, e.digest)), e.current ? h('span', { class: 'badge' }, 'current') : null),
            h(
              'div',
              { class: 'meta' },
              when(e.taggedAt),
              h('span', { class: 'size', title: 'config and layers, compressed' }, e.imageSize === undefined || e.imageSize === null ? `manifest ${bytes(e.size)}` : bytes(e.imageSize)),
              h('span', { class: 'delta' }),
              h('span', {}, kind(e.mediaType)),
            ),
            e.tags.length ? h('div', { class: 'chips' }, h('span', { class: 'muted' }, 'also '), ...e.tags.map((t: string) => link({ repo, tag: t }, h('span', { class: 'chip' }, t)))) : null,
            h('div', { class: 'actions' }, copyButton('copy name@digest', `${repo}@${e.digest}`), copyButton('copy name:tag@digest', `${repo}:${tag}@${e.digest}`)),
          ),
        );
        (li as Json).imageSize = e.imageSize;
        ol.append(li);
      }
      markGrowth(ol);
      box.querySelector('.more')?.remove();
      if (data.next) {
        const more = h('button', { type: 'button', class: 'more' }, 'older revisions…');
        more.addEventListener('click', () => void load(data.next));
        box.append(more);
      }
    };
    await load();
  }

  /** Each entry's size change from the revision before it (the next one down: the list is newest first). */
  function markGrowth(ol: HTMLElement): void {
    const items = [...ol.querySelectorAll<HTMLElement>('li.entry')];
    items.forEach((li, i) => {
      const older = items[i + 1] as Json;
      const now = (li as Json).imageSize;
      const delta = li.querySelector('.delta') as HTMLElement;
      if (!older || typeof now !== 'number' || typeof older.imageSize !== 'number' || now === older.imageSize) {
        delta.textContent = '';
        return;
      }
      const d = now - older.imageSize;
      delta.textContent = `${d > 0 ? '+' : '−'}${bytes(Math.abs(d))}`;
      delta.className = `delta ${d > 0 ? 'grew' : 'shrank'}`;
      delta.title = 'size change from the revision before';
    });
  }

  async function showRevision(repo: string, digest: string, tag?: string): Promise<void> {
    const r = await get('/_ui/api/revision', { repo, digest });
    const section = (title: string, ...body: (Node | null)[]) => h('section', { class: 'panel' }, h('h3', {}, title), ...body);
    const descTable = (rows: Json[], empty: string) =>
      rows.length
        ? h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              {},
              h('thead', {}, h('tr', {}, h('th', {}, 'digest'), h('th', {}, 'media type'), h('th', {}, 'size'))),
              h('tbody', {}, ...rows.map((d) => h('tr', {}, h('td', { class: 'mono' }, String(d.digest ?? '')), h('td', {}, String(d.artifactType ?? d.mediaType ?? '')), h('td', { class: 'num' }, bytes(d.size))))),
            ),
          )
        : h('p', { class: 'muted' }, empty);
    const keyValues = (o: Record<string, string>) =>
      h('div', { class: 'scroll' }, h('table', {}, h('tbody', {}, ...Object.entries(o).map(([k, v]) => h('tr', {}, h('th', { class: 'mono' }, k), h('td', { class: 'mono' }, v))))));
    const platforms = r.manifests.length
      ? h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'platforms' },
            h('thead', {}, h('tr', {}, h('th', {}, 'platform'), h('th', {}, 'size'), h('th', {}, 'digest'))),
            h(
              'tbody',
              {},
              ...r.platforms.map((p: Json) =>
                h(
                  'tr',
                  { 'data-platform': [p.os, p.architecture, p.variant].filter(Boolean).join('/') },
                  h('td', {}, [p.os, p.architecture, p.variant].filter(Boolean).join('/') || '—'),
                  h('td', { class: 'num' }, bytes(p.size)),
                  h('td', { class: 'mono' }, p.digest ? link({ repo, tag, rev: p.digest }, short(p.digest)) : '—'),
                ),
              ),
            ),
          ),
        )
      : null;
    const groups = new Map<string, Json[]>();
    for (const a of r.attachments) groups.set(a.kind, [...(groups.get(a.kind) ?? []), a]);
    const attached = groups.size
      ? h(
          'ul',
          { class: 'attached' },
          ...[...groups].map(([k, items]) =>
            h(
              'li',
              { 'data-kind': k },
              h('strong', {}, `${k} (${items.length})`),
              ' ',
              ...items.map((a: Json) => h('span', { class: 'chip mono', title: a.via === 'tag' ? `the tag ${a.tag}` : `a referrer (${a.artifactType ?? 'no artifactType'})` }, `${short(a.digest)} · ${a.via === 'tag' ? 'tag' : 'referrer'}`)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'nothing is attached to this revision');
    const signed = groups.has('signature');
    const pulls = [`${location.host}/${repo}@${r.digest}`, ...r.history.map((t: string) => `${location.host}/${repo}:${t}@${r.digest}`)];
    const parts: (HTMLElement | null)[] = [
      h('p', { class: 'crumbs' }, link({ repo }, repo), tag ? ' › ' : '', tag ? link({ repo, tag }, tag) : '', ' › ', short(r.digest)),
      h('h2', { class: 'mono' }, r.digest),
      h(
        'div',
        { class: 'facts' },
        h('span', {}, kind(r.mediaType)),
        h('span', { class: 'image-size', title: 'config and layers, compressed' }, r.imageSize === undefined || r.imageSize === null ? 'size not known' : bytes(r.imageSize)),
        r.manifests.length ? h('span', {}, `${r.platforms.length} platform${r.platforms.length === 1 ? '' : 's'}`) : null,
        r.created ? h('span', {}, 'created ', when(r.created)) : null,
        signed ? h('span', { class: 'badge signed' }, 'signed') : null,
        h('span', {}, r.tags.length ? `current for ${r.tags.join(', ')}` : 'not current for any tag'),
        h('span', {}, r.history.length ? `in the history of ${r.history.join(', ')}` : 'in no tag history'),
      ),
      section('Pull', h('ul', { class: 'pulls' }, ...pulls.map((ref) => h('li', {}, h('code', {}, `podman pull ${ref}`), ' ', copyButton('copy', `podman pull ${ref}`))))),
      h('div', { class: 'actions' }, copyButton('copy name@digest', `${repo}@${r.digest}`), ...r.history.map((t: string) => copyButton(`copy ${t}@digest`, `${repo}:${t}@${r.digest}`))),
      platforms ? section('Platforms', platforms) : null,
      r.config ? section('Config', descTable([r.config], '')) : null,
      Object.keys(r.labels).length ? section('Labels', keyValues(r.labels)) : null,
      r.layers.length ? section('Layers', descTable(r.layers, '')) : null,
      r.subject ? section('Subject', descTable([r.subject], '')) : null,
      Object.keys(r.annotations).length ? section('Annotations', keyValues(r.annotations)) : null,
      section('Signatures, attestations and SBOMs', attached),
      section('Referrers', descTable(r.referrers, 'nothing refers to this revision')),
      r.signatures.length
        ? section('Schema1 signatures', h('ul', {}, ...r.signatures.map((s: Json) => h('li', {}, h('code', {}, s.alg), ` ${s.key} · ${s.signature}…`))))
        : null,
      h('details', { class: 'panel' }, h('summary', {}, 'Manifest'), h('pre', {}, r.manifest)),
    ];
    view.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  async function route(): Promise<void> {
    const p = new URLSearchParams(location.hash.slice(1));
    const repo = p.get('repo') ?? undefined;
    const tag = p.get('tag') ?? undefined;
    const rev = p.get('rev') ?? undefined;
    markSelected();
    try {
      if (repo && rev) await showRevision(repo, rev, tag);
      else if (repo) await showRepo(repo, tag);
      else view.replaceChildren(h('div', { class: 'empty' }, 'Pick a repository to see its tags, each tag’s history, and every revision.'));
    } catch (err) {
      view.replaceChildren(h('div', { class: 'error' }, (err as Error).message));
    }
    document.body.dataset.ready = location.hash; // tests wait for this
  }
  window.addEventListener('hashchange', () => void route());
  // "/" jumps to the search, as on most sites; Escape leaves it.
  document.addEventListener('keydown', (e) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement;
    if (e.key === '/' && !typing) {
      e.preventDefault();
      search.focus();
    } else if (e.key === 'Escape' && e.target === search) search.blur();
  });
  void route();
}
