import { escapeXml as esc } from "./xml.js";

/** One panel of a bar chart: a title and one bar per label. */
export interface BarPanel {
  title: string;
  bars: { label: string; value: number }[];
  /** Axis maximum (default: the largest value, at least 1e-12). */
  max?: number;
}


/**
 * A dependency-free SVG of horizontal bar panels side by side, sharing the
 * row labels (one row per layer). NaN values are drawn as "n/a".
 */
export function barPanelsSvg(panels: readonly BarPanel[], opts: { title?: string } = {}): string {
  const labels = [...new Set(panels.flatMap((p) => p.bars.map((b) => b.label)))];
  const row = 18;
  const labelW = Math.min(260, 12 + 7 * Math.max(4, ...labels.map((l) => l.length)));
  const panelW = 220;
  const top = opts.title ? 48 : 28;
  const width = labelW + panels.length * (panelW + 20) + 10;
  const height = top + labels.length * row + 16;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  if (opts.title) out.push(`<text x="8" y="18" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  labels.forEach((l, i) => out.push(`<text x="${labelW - 6}" y="${top + i * row + 13}" text-anchor="end">${esc(l)}</text>`));
  panels.forEach((p, k) => {
    const x0 = labelW + k * (panelW + 20);
    const finite = p.bars.map((b) => b.value).filter(Number.isFinite);
    const max = p.max ?? Math.max(1e-12, ...finite.map(Math.abs));
    out.push(`<text x="${x0}" y="${top - 8}" font-weight="bold">${esc(p.title)}</text>`);
    out.push(`<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + labels.length * row}" stroke="#444"/>`);
    for (const b of p.bars) {
      const y = top + labels.indexOf(b.label) * row;
      if (!Number.isFinite(b.value)) {
        out.push(`<text x="${x0 + 4}" y="${y + 13}" fill="#888">n/a</text>`);
        continue;
      }
      const w = Math.max(0, Math.min(1, Math.abs(b.value) / max)) * (panelW - 50);
      out.push(`<rect x="${x0}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="#3b75af"><title>${esc(b.label)}: ${b.value}</title></rect>`);
      out.push(`<text x="${(x0 + w + 4).toFixed(1)}" y="${y + 13}">${formatValue(b.value)}</text>`);
    }
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function formatValue(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e4 || a < 1e-3) ? v.toExponential(2) : v.toPrecision(3);
}
