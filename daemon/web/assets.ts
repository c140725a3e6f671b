// The page's script and style, served from memory. The script is client.ts's
// function, compiled by tsc with the rest and sent as its own text.
import { client } from './client.js';

export const APP_JS = `(${client.toString()})();\n`;

export const STYLE_CSS = `
:root { --bg: #f6f7f9; --fg: #1c2330; --muted: #6b7485; --line: #dde1e8; --accent: #2f6fde; --current: #1f9d55; --panel: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: 24px; padding: 12px 24px; background: #17202f; color: #fff; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; white-space: nowrap; }
header h1 small { font-weight: 400; opacity: .6; font-size: 12px; }
.logo { color: #7fb0ff; }
#search { flex: 1; max-width: 420px; padding: 7px 12px; border-radius: 6px; border: 0; font: inherit; }
main { display: grid; grid-template-columns: 300px 1fr; min-height: calc(100vh - 52px); }
nav { border-right: 1px solid var(--line); background: var(--panel); padding: 12px 0; overflow-y: auto; max-height: calc(100vh - 52px); }
nav p { padding: 0 16px; margin: 0 0 8px; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav a { display: flex; justify-content: space-between; gap: 8px; padding: 6px 16px; color: var(--fg); text-decoration: none; }
nav a:hover { background: #eef2fa; }
nav a.selected { background: #e3ecfd; border-left: 3px solid var(--accent); padding-left: 13px; }
nav .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.count, .muted { color: var(--muted); font-size: 12px; }
#view { padding: 20px 32px; min-width: 0; }
#view h2 { margin: 0 0 4px; font-size: 20px; word-break: break-all; }
.empty { color: var(--muted); margin-top: 48px; text-align: center; }
.error { color: #b42318; background: #fef3f2; padding: 12px; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: 12px; color: var(--muted); background: #fafbfc; }
tr.selected td { background: #eef4ff; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
a { color: var(--accent); }
button { font: inherit; font-size: 12px; padding: 3px 9px; border: 1px solid var(--line); border-radius: 5px; background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); color: var(--accent); }
button.more, #more-repos { margin: 10px 16px; }
.timeline-box h3 { margin: 24px 0 8px; }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 8px; border-left: 2px solid var(--line); }
ol.timeline li { position: relative; padding: 8px 0 12px 20px; }
ol.timeline .dot { position: absolute; left: -8px; top: 13px; width: 14px; height: 14px; border-radius: 50%; background: #fff; border: 2px solid #a5adbb; }
ol.timeline li.current .dot { background: var(--current); border-color: var(--current); box-shadow: 0 0 0 4px #d3f0df; }
ol.timeline .line { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.badge { background: var(--current); color: #fff; border-radius: 10px; padding: 1px 8px; font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
.meta { display: flex; gap: 14px; color: var(--muted); font-size: 12px; margin: 2px 0 6px; }
.actions { display: flex; gap: 6px; flex-wrap: wrap; margin: 6px 0; }
.facts { display: flex; gap: 16px; flex-wrap: wrap; color: var(--muted); margin: 4px 0 8px; }
.crumbs { margin: 0 0 8px; color: var(--muted); }
.panel { margin-top: 18px; }
.panel h3 { font-size: 14px; margin: 0 0 6px; }
details.panel summary { cursor: pointer; font-weight: 600; }
pre { background: #0f1723; color: #d6e2f5; padding: 12px; border-radius: 6px; overflow: auto; max-height: 480px; font-size: 12px; }
#toast { position: fixed; bottom: 20px; left: 50%; transform: translateX(-50%); background: #17202f; color: #fff; padding: 8px 14px; border-radius: 6px; opacity: 0; transition: opacity .2s; pointer-events: none; max-width: 90vw; word-break: break-all; font-size: 12px; }
#toast.show { opacity: .95; }
.controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0 10px; }
.controls input, .controls select { font: inherit; font-size: 13px; padding: 5px 9px; border: 1px solid var(--line); border-radius: 5px; background: #fff; min-width: 0; }
.scroll { overflow-x: auto; max-width: 100%; }
.chips { margin: 2px 0 4px; font-size: 12px; }
.chip { display: inline-block; background: #eef2fa; color: var(--fg); border-radius: 10px; padding: 0 8px; margin: 2px 4px 2px 0; font-size: 12px; }
a .chip { color: var(--accent); }
.delta.grew { color: #b54708; }
.delta.shrank { color: var(--current); }
.badge.signed { background: #3b5bdb; }
.badge.cached { background: #5f3dc4; margin: 0 6px; }
ul.attached, ul.pulls { list-style: none; padding: 0; margin: 0; }
ul.attached li, ul.pulls li { margin: 4px 0; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; z-index: 10; background: #fff; padding: 6px 10px; border-radius: 5px; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #7fb0ff; outline-offset: 2px; }
#view { min-height: 60vh; }
@media (max-width: 760px) {
  main { grid-template-columns: 1fr; }
  nav { max-height: 240px; border-right: 0; border-bottom: 1px solid var(--line); }
  header { flex-wrap: wrap; gap: 10px; padding: 10px 14px; }
  #search { max-width: none; width: 100%; }
  #view { padding: 14px; }
  .meta, .facts { flex-wrap: wrap; gap: 8px; }
}
`;
