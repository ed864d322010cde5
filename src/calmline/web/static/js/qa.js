// QA pages: one call's scorecard (`/qa/{id}`) with reviewer overrides, and the calibration view
// (`/qa/calibration`). All values are set with textContent.
import { api, ApiError } from './api.js';

const polite = document.getElementById('polite');

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

const fmt = (v) => (v === null || v === undefined ? '–' : String(v));

function evidenceText(item) {
  const e = item.evidence || {};
  switch (item.kind) {
    case 'protocol_adherence':
      return (e.protocols || [])
        .map((p) => `${p.protocol_id}: ${p.required_done}/${p.required_total}` +
          (p.missed_steps.length ? ` (missed ${p.missed_steps.join(', ')})` : ''))
        .join('; ') || 'no protocol ran';
    case 'time_to_escalation':
      return (e.alerts || [])
        .map((a) => `${a.alert_id} ${a.kind}: ${a.acknowledged ? `${fmt(a.disclosure_to_ack_s)} s to ack` : 'never acknowledged'}`)
        .join('; ') || 'no alert';
    case 'guardrail_violations':
      return (e.violations || []).map((v) => `#${v.utterance_seq} ${v.level} (${v.severity})`).join('; ') || 'none';
    case 'verification_before_disclosure':
      return (e.disclosures_before_verification || []).length
        ? `disclosed before verification at ${e.disclosures_before_verification.map((d) => `#${d.utterance_seq}`).join(', ')}`
        : `no disclosure before verification; caller ${e.caller_verified ? 'verified' : 'not verified'}`;
    case 'empathy_profile':
      return e.profile ? `mean level ${fmt(e.mechanism_mean)}, ${e.profile.agent_turns} agent turns, ` +
        `${e.profile.talk_overs} talk-overs` : 'no agent turns';
    default:
      return JSON.stringify(e);
  }
}

async function scorecardPage(root) {
  const callId = root.dataset.callId;
  const errorBox = document.getElementById('qa-error');
  const select = document.getElementById('o-item');
  const path = `/api/qa/calls/${encodeURIComponent(callId)}`;

  function show(card) {
    document.getElementById('qa-practice').hidden = !card.practice;
    document.getElementById('qa-total').textContent = fmt(card.total);
    document.getElementById('qa-auto-total').textContent = fmt(card.auto_total);
    document.getElementById('qa-pass-mark').textContent = fmt(card.pass_mark);
    document.getElementById('qa-passed').textContent = card.passed === null ? '' : card.passed ? 'Passed' : 'Below the pass mark';
    const rows = card.items.map((item) => {
      const tr = document.createElement('tr');
      tr.appendChild(el('td', item.title));
      tr.appendChild(el('td', item.weight, 'num'));
      tr.appendChild(el('td', fmt(item.auto_score), 'num'));
      tr.appendChild(el('td', fmt(item.score) + (item.overridden ? ' (overridden)' : ''), 'num'));
      tr.appendChild(el('td', evidenceText(item)));
      const reviews = el('td');
      for (const r of item.reviews) reviews.appendChild(el('div', `${r.reviewer}: ${fmt(r.score)} — ${r.comment}`));
      tr.appendChild(reviews);
      return tr;
    });
    document.getElementById('qa-items').replaceChildren(...rows);
    const keep = select.value;
    select.replaceChildren(...card.items.map((i) => {
      const o = el('option', i.title);
      o.value = i.item_id;
      return o;
    }));
    if (keep) select.value = keep;
  }

  async function load() {
    try {
      show(await api(path));
    } catch (err) {
      errorBox.textContent = err instanceof ApiError ? err.message : 'Could not load the scorecard';
      errorBox.hidden = false;
    }
  }

  document.getElementById('qa-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const raw = document.getElementById('o-score').value;
    const body = { score: raw === '' ? null : Number(raw), comment: document.getElementById('o-comment').value };
    try {
      show(await api(`${path}/items/${encodeURIComponent(select.value)}`, { method: 'POST', body }));
      document.getElementById('o-comment').value = '';
      polite.textContent = 'Override saved';
    } catch (err) {
      errorBox.textContent = err instanceof ApiError ? err.message : 'Could not save the override';
      errorBox.hidden = false;
    }
  });
  load();
}

async function calibrationPage(form) {
  const errorBox = document.getElementById('cal-error');
  async function load() {
    errorBox.hidden = true;
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string' && v.trim()) query.set(k, v.trim());
    try {
      const cal = await api(`/api/qa/calibration?${query}`);
      document.getElementById('cal-tolerance').textContent = fmt(cal.agreement_tolerance);
      document.getElementById('cal-items').replaceChildren(...cal.items.map((i) => {
        const tr = document.createElement('tr');
        for (const v of [i.title, i.calls_reviewed, i.reviewer_pairs, fmt(i.reviewer_agreement),
          fmt(i.reviewer_mean_abs_diff), fmt(i.auto_agreement), fmt(i.auto_mean_abs_diff)]) tr.appendChild(el('td', v));
        return tr;
      }));
      document.getElementById('cal-reviewers').replaceChildren(...cal.reviewers.map((r) => {
        const tr = document.createElement('tr');
        for (const v of [r.reviewer, r.reviews, fmt(r.mean_abs_diff_from_auto)]) tr.appendChild(el('td', v));
        return tr;
      }));
      polite.textContent = 'Calibration updated';
    } catch (err) {
      errorBox.textContent = err instanceof ApiError ? err.message : 'Could not load the calibration';
      errorBox.hidden = false;
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  load();
}

const root = document.getElementById('qa-root');
const calForm = document.getElementById('cal-form');
if (root) scorecardPage(root);
else if (calForm) calibrationPage(calForm);
