// The HTML shell of the page, with the first page of repositories rendered in.
import { VERSION } from '../version.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderPage(first: { total: number; repositories: { name: string; tags: number; upstream?: string }[]; next?: string }): string {
  const items = first.repositories
    .map((r) => `<li><a href="#repo=${encodeURIComponent(r.name)}" data-repo="${escapeHtml(r.name)}"><span class="name">${escapeHtml(r.name)}</span>${r.upstream ? `<span class="badge cached" title="cached from ${escapeHtml(r.upstream)}">cached</span>` : ''}<span class="count">${r.tags} tag${r.tags === 1 ? '' : 's'}</span></a></li>`)
    .join('');
  const more = first.next ? `<button type="button" id="more-repos" data-last="${escapeHtml(first.next)}">more…</button>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cairn registry</title>
<link rel="stylesheet" href="/_ui/style.css">
</head>
<body>
<a class="skip" href="#view">Skip to the content</a>
<header>
  <h1><span class="logo">▲</span> Cairn <small>${escapeHtml(VERSION)}</small></h1>
  <input id="search" type="search" placeholder="Search repositories (press /)" autocomplete="off" aria-label="Search repositories">
</header>
<main>
  <nav id="repos" aria-label="Repositories">
    <p class="muted" id="repo-count">${first.total} repositor${first.total === 1 ? 'y' : 'ies'}</p>
    <ul id="repo-list">${items}</ul>
    ${more}
  </nav>
  <section id="view" aria-live="polite" tabindex="-1">
    <div class="empty">Pick a repository to see its tags, each tag's history, and every revision.</div>
  </section>
</main>
<div id="toast" role="status"></div>
<script type="module" src="/_ui/app.js"></script>
</body>
</html>
`;
}
