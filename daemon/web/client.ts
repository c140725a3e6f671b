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

  function link(params: Record<string, string | undefined>, ...children: (Node | string)[]): HTMLElement {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.set(k, v);
    return h('a', { href: `#${qs}` }, ...children);
  }

  // Repositories: search and pages.
  const list = $('#repo-list');
  const count = $('#repo-count');
  let searchSeq = 0;
  function repoItem(r: Json): HTMLElement {
    const a = link({ repo: r.name }, h('span', { class: 'name' }, r.name), h('span', { class: 'count' }, `${r.tags} tag${r.tags === 1 ? '' : 's'}`));
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
  async function showRepo(repo: string, tag?: string): Promise<void> {
    const tagsBox = h('div', { class: 'tags' });
    const timeline = h('div', { class: 'timeline-box' });
    view.replaceChildren(
      h('h2', {}, repo),
      h('p', { class: 'muted' }, 'Tags — pick one to see every revision it has pointed at.'),
      tagsBox,
      timeline,
    );
    const table = h('table', { class: 'tag-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'tag'), h('th', {}, 'current'), h('th', {}, 'moved'), h('th', {}, 'revisions'))));
    const tbody = h('tbody');
    table.append(tbody);
    tagsBox.append(table);
    const loadTags = async (last?: string) => {
      const data = await get('/_ui/api/tags', { repo, n: String(PAGE), last });
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
      if (!data.tags.length && !last) tbody.append(h('tr', {}, h('td', { colspan: '4', class: 'muted' }, 'no tags (untagged revisions only)')));
      tagsBox.querySelector('.more')?.remove();
      if (data.next) {
        const more = h('button', { type: 'button', class: 'more' }, 'more tags…');
        more.addEventListener('click', () => void loadTags(data.next));
        tagsBox.append(more);
      }
    };
    await loadTags();
    if (tag) await showTimeline(timeline, repo, tag);
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
            h('div', { class: 'meta' }, when(e.taggedAt), h('span', {}, bytes(e.size)), h('span', {}, kind(e.mediaType))),
            h('div', { class: 'actions' }, copyButton('copy name@digest', `${repo}@${e.digest}`), copyButton('copy name:tag@digest', `${repo}:${tag}@${e.digest}`)),
          ),
        );
        ol.append(li);
      }
      box.querySelector('.more')?.remove();
      if (data.next) {
        const more = h('button', { type: 'button', class: 'more' }, 'older revisions…');
        more.addEventListener('click', () => void load(data.next));
        box.append(more);
      }
    };
    await load();
  }

  async function showRevision(repo: string, digest: string, tag?: string): Promise<void> {
    const r = await get('/_ui/api/revision', { repo, digest });
    const section = (title: string, ...body: (Node | null)[]) => h('section', { class: 'panel' }, h('h3', {}, title), ...body);
    const descTable = (rows: Json[], empty: string) =>
      rows.length
        ? h(
            'table',
            {},
            h('thead', {}, h('tr', {}, h('th', {}, 'digest'), h('th', {}, 'media type'), h('th', {}, 'size'))),
            h('tbody', {}, ...rows.map((d) => h('tr', {}, h('td', { class: 'mono' }, String(d.digest ?? '')), h('td', {}, String(d.artifactType ?? d.mediaType ?? '')), h('td', { class: 'num' }, bytes(d.size))))),
          )
        : h('p', { class: 'muted' }, empty);
    const children = r.manifests.map((m: Json) => ({ ...m, mediaType: `${kind(m.mediaType)} ${m.platform ? `${m.platform.os}/${m.platform.architecture}` : ''}` }));
    const parts: (HTMLElement | null)[] = [
      h('p', { class: 'crumbs' }, link({ repo }, repo), tag ? ' › ' : '', tag ? link({ repo, tag }, tag) : '', ' › ', short(r.digest)),
      h('h2', { class: 'mono' }, r.digest),
      h(
        'div',
        { class: 'facts' },
        h('span', {}, kind(r.mediaType)),
        h('span', {}, bytes(r.size)),
        h('span', {}, r.tags.length ? `current for ${r.tags.join(', ')}` : 'not current for any tag'),
        h('span', {}, r.history.length ? `in the history of ${r.history.join(', ')}` : 'in no tag history'),
      ),
      h('div', { class: 'actions' }, copyButton('copy name@digest', `${repo}@${r.digest}`), ...r.history.map((t: string) => copyButton(`copy ${t}@digest`, `${repo}:${t}@${r.digest}`))),
      r.config ? section('Config', descTable([r.config], '')) : null,
      r.layers.length ? section('Layers', descTable(r.layers, '')) : null,
      children.length ? section('Manifests', descTable(children, '')) : null,
      r.subject ? section('Subject', descTable([r.subject], '')) : null,
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
  void route();
}
