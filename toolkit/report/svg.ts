/** Dependency-free inline SVG charts for the self-contained HTML reports. */

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const PAD = { left: 60, right: 16, top: 28, bottom: 44 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1));

function frame(o: ChartOptions, w: number, h: number, yMax: number, body: string, xTicks: string): string {
  const plotH = h - PAD.top - PAD.bottom;
  const yTicks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = PAD.top + plotH * (1 - f);
      return `<line x1="${PAD.left}" x2="${w - PAD.right}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${num(yMax * f)}</text>`;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeXml(o.title)}">` +
    `<text x="${w / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>` +
    yTicks +
    body +
    xTicks +
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${h - PAD.bottom}" stroke="#333"/>` +
    `<line x1="${PAD.left}" x2="${w - PAD.right}" y1="${h - PAD.bottom}" y2="${h - PAD.bottom}" stroke="#333"/>` +
    `<text x="${w / 2}" y="${h - 6}" text-anchor="middle" font-size="12">${escapeXml(o.xLabel)}</text>` +
    `<text x="14" y="${h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${h / 2})">${escapeXml(o.yLabel)}</text>` +
    `</svg>`
  );
}

/** Polyline of y values at x = 0, 1, 2, … (e.g. jobs per second). */
export function lineChart(values: readonly number[], o: ChartOptions): string {
  const w = o.width ?? 720;
  const h = o.height ?? 260;
  const yMax = Math.max(1, ...values);
  const plotW = w - PAD.left - PAD.right;
  const plotH = h - PAD.top - PAD.bottom;
  const step = values.length > 1 ? plotW / (values.length - 1) : 0;
  const pts = values.map((v, i) => `${(PAD.left + i * step).toFixed(1)},${(PAD.top + plotH * (1 - v / yMax)).toFixed(1)}`).join(' ');
  const every = Math.max(1, Math.ceil(values.length / 10));
  const ticks = values
    .map((_, i) => (i % every === 0 ? `<text x="${(PAD.left + i * step).toFixed(1)}" y="${h - PAD.bottom + 14}" text-anchor="middle" font-size="11">${i}</text>` : ''))
    .join('');
  return frame(o, w, h, yMax, `<polyline fill="none" stroke="#2563eb" stroke-width="2" points="${pts}"/>`, ticks);
}

export interface Bar {
  label: string;
  value: number;
}

/** Vertical bars with (thinned) labels under them. */
export function barChart(bars: readonly Bar[], o: ChartOptions): string {
  const w = o.width ?? 720;
  const h = o.height ?? 260;
  const yMax = Math.max(1, ...bars.map((b) => b.value));
  const plotW = w - PAD.left - PAD.right;
  const plotH = h - PAD.top - PAD.bottom;
  const slot = bars.length > 0 ? plotW / bars.length : plotW;
  const every = Math.max(1, Math.ceil(bars.length / 12));
  const body = bars
    .map((b, i) => {
      const bh = (plotH * b.value) / yMax;
      const x = PAD.left + i * slot;
      return `<rect x="${(x + slot * 0.1).toFixed(1)}" y="${(PAD.top + plotH - bh).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${bh.toFixed(1)}" fill="#16a34a"><title>${escapeXml(b.label)}: ${num(b.value)}</title></rect>`;
    })
    .join('');
  const ticks = bars
    .map((b, i) =>
      i % every === 0
        ? `<text x="${(PAD.left + (i + 0.5) * slot).toFixed(1)}" y="${h - PAD.bottom + 14}" text-anchor="middle" font-size="10">${escapeXml(b.label)}</text>`
        : '',
    )
    .join('');
  return frame(o, w, h, yMax, body, ticks);
}
