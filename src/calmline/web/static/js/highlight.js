// Evidence highlighting, kept free of the DOM so it can be tested on its own.

/**
 * Split `text` at every evidence boundary; each piece lists the findings whose spans cover it.
 * Spans count Unicode code points (as Python does), not UTF-16 units, so text is indexed by code point.
 */
export function segments(text, marks) {
  const chars = Array.from(text);
  const cuts = new Set([0, chars.length]);
  const spans = [];
  for (const { finding } of marks) {
    for (const span of finding.evidence || []) {
      const start = Math.max(0, Math.min(chars.length, Number(span[0])));
      const end = Math.max(0, Math.min(chars.length, Number(span[1])));
      if (!(end > start)) continue;
      spans.push({ start, end, finding });
      cuts.add(start);
      cuts.add(end);
    }
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i < points.length - 1; i += 1) {
    const [start, end] = [points[i], points[i + 1]];
    const covering = spans.filter((s) => s.start <= start && s.end >= end).map((s) => s.finding);
    out.push({ text: chars.slice(start, end).join(''), findings: [...new Set(covering)] });
  }
  return out;
}
