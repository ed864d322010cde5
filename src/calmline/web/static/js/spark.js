// A dependency-free distress chart: one point per scored caller turn (raw score) and the smoothed line,
// drawn into an inline <svg> that the page already holds (so the SVG namespace comes from the DOM).

const W = 320;
const H = 120;
const PAD = { left: 30, right: 8, top: 8, bottom: 18 };
const BANDS = [
  [0.7, 'high'],
  [0.4, 'elevated'],
];

function make(svg, tag, attrs = {}, text = null) {
  const node = document.createElementNS(svg.namespaceURI, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * Draw `points` ({turn, distress, smoothed}) into `svg`, replacing what was there.
 * Returns a one-sentence summary for the chart's text alternative.
 */
export function drawDistress(svg, points) {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + (1 - Math.max(0, Math.min(1, v))) * plotH;
  const n = points.length;
  const x = (i) => PAD.left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);

  const axis = make(svg, 'g', { class: 'axis' });
  for (const v of [0, 0.5, 1]) {
    axis.append(make(svg, 'line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    axis.append(make(svg, 'text', { x: PAD.left - 4, y: y(v) + 3, 'text-anchor': 'end', class: 'tick' },
      `${v * 100}%`));
  }
  for (const [v, name] of BANDS) {
    axis.append(make(svg, 'line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: `band band-${name}` }));
  }
  axis.append(make(svg, 'text', { x: PAD.left, y: H - 4, class: 'tick' }, 'caller turns →'));
  svg.append(axis);
  if (!n) return 'No scored caller turns yet.';

  const smoothed = points.filter((p) => typeof p.smoothed === 'number');
  if (smoothed.length > 1) {
    const d = points
      .map((p, i) => (typeof p.smoothed === 'number' ? `${x(i).toFixed(1)},${y(p.smoothed).toFixed(1)}` : null))
      .filter(Boolean)
      .join(' ');
    svg.append(make(svg, 'polyline', { points: d, class: 'smoothed' }));
  }
  const dots = make(svg, 'g', { class: 'dots' });
  points.forEach((p, i) => {
    const level = p.distress >= 0.7 ? 'high' : p.distress >= 0.4 ? 'elevated' : 'low';
    const dot = make(svg, 'circle', { cx: x(i), cy: y(p.distress), r: 3.5, class: `dot level-${level}` });
    dot.append(make(svg, 'title', {},
      `Turn ${p.turn}: distress ${Math.round(p.distress * 100)}%` +
      (typeof p.smoothed === 'number' ? `, smoothed ${Math.round(p.smoothed * 100)}%` : '')));
    dots.append(dot);
  });
  svg.append(dots);

  const last = points[n - 1];
  const peak = points.reduce((a, b) => (b.distress > a.distress ? b : a));
  const trend = last.escalating ? ' Distress is rising.' : '';
  const smooth = typeof last.smoothed === 'number' ? ` (smoothed ${Math.round(last.smoothed * 100)}%)` : '';
  return `${n} caller turn${n === 1 ? '' : 's'} scored. Latest ${Math.round(last.distress * 100)}%${smooth}, ` +
    `peak ${Math.round(peak.distress * 100)}% at turn ${peak.turn}.${trend}`;
}

// ---- tile sparklines ----------------------------------------------------------------------------------

export const SPARK_W = 100;
export const SPARK_H = 28;

/**
 * The `points` attribute of a polyline for `values` (0..1, oldest first) in a `w` x `h` box: y grows down,
 * 1.0 at the top; one value is drawn as a flat line. Pure, so it is unit-tested without a DOM.
 */
export function sparkPoints(values, w = SPARK_W, h = SPARK_H) {
  const vs = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (!vs.length) return '';
  const pad = 2;
  const y = (v) => (pad + (1 - Math.max(0, Math.min(1, v))) * (h - 2 * pad)).toFixed(1);
  if (vs.length === 1) return `0,${y(vs[0])} ${w},${y(vs[0])}`;
  return vs.map((v, i) => `${((i / (vs.length - 1)) * w).toFixed(1)},${y(v)}`).join(' ');
}

/**
 * Draw the distress trajectory into `svg` (an inline <svg> cloned from the page's template, so it is in the
 * SVG namespace): the 70% band, the line, and the last point. The tile's text says the numbers; the drawing
 * is decorative and hidden from screen readers.
 */
export function drawSparkline(svg, values) {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
  const band = make(svg, 'line', { x1: 0, x2: SPARK_W, y1: 2 + 0.3 * (SPARK_H - 4), y2: 2 + 0.3 * (SPARK_H - 4),
    class: 'band band-high' });
  svg.append(band);
  const points = sparkPoints(values);
  if (!points) return;
  svg.append(make(svg, 'polyline', { points, class: 'spark-line' }));
  const last = points.split(' ').pop().split(',');
  const v = values[values.length - 1];
  const level = v >= 0.7 ? 'high' : v >= 0.4 ? 'elevated' : 'low';
  svg.append(make(svg, 'circle', { cx: last[0], cy: last[1], r: 2.5, class: `dot level-${level}` }));
}
