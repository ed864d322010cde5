// The reports page: filters, then the report from `GET /api/reports?charts=true` drawn as tables and charts
// (PNG sent as base64 by the API). Everything is set with textContent: no HTML from the server is injected.
import { api, ApiError, BASE } from './api.js';

const form = document.getElementById('report-form');
const out = document.getElementById('report-sections');
const errorBox = document.getElementById('report-error');
const scope = document.getElementById('report-scope');
const polite = document.getElementById('polite');

function params() {
  const data = new FormData(form);
  const query = new URLSearchParams();
  for (const [key, value] of data.entries()) {
    if (typeof value === 'string' && value.trim() !== '') query.set(key, value.trim());
  }
  return query;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function renderSection(section) {
  const box = el('section');
  box.id = `sec-${section.key}`;
  box.appendChild(el('h2', section.title));
  if (section.note) box.appendChild(el('p', section.note, 'hint'));
  if (section.png) {
    const img = document.createElement('img');
    img.alt = `Chart: ${section.title}`;
    img.className = 'report-chart';
    img.src = `data:image/png;base64,${section.png}`;
    box.appendChild(img);
  }
  const wrap = el('div', null, 'table-wrap');
  const table = el('table', null, 'findings');
  const head = document.createElement('thead');
  const tr = document.createElement('tr');
  for (const c of section.columns) {
    const th = el('th', c);
    th.scope = 'col';
    tr.appendChild(th);
  }
  head.appendChild(tr);
  table.appendChild(head);
  const body = document.createElement('tbody');
  for (const row of section.rows) {
    const r = document.createElement('tr');
    for (const v of row) r.appendChild(el('td', v));
    body.appendChild(r);
  }
  table.appendChild(body);
  wrap.appendChild(table);
  box.appendChild(wrap);
  if (!section.rows.length) box.appendChild(el('p', 'No data.', 'empty'));
  return box;
}

async function load() {
  errorBox.hidden = true;
  const query = params();
  document.getElementById('dl-html').href = `${BASE}/api/reports?${query}&format=html`;
  document.getElementById('dl-pdf').href = `${BASE}/api/reports?${query}&format=pdf`;
  query.set('charts', 'true');
  try {
    const report = await api(`/api/reports?${query}`);
    out.replaceChildren(...report.sections.map(renderSection));
    scope.textContent = `Calls: ${report.scope}. Data through ${report.data_through || '–'}.`;
    polite.textContent = 'Report updated';
  } catch (err) {
    errorBox.textContent = err instanceof ApiError ? err.message : 'Could not load the report';
    errorBox.hidden = false;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  load();
});
load();
