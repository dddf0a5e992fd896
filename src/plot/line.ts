/**
 * A dependency-free SVG line chart (e.g. a PSD per channel), enough for lab
 * scripts and reports to show a result without a plotting stack.
 */
import { ValueError } from "../errors.js";
import { escapeXml as esc } from "./xml.js";

export interface LineSeries {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface LinePlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Plot log10(y) (PSDs); non-positive values are skipped. */
  logY?: boolean;
  /** Limits of the x axis (default: the data range). */
  xRange?: [number, number];
  width?: number;
  height?: number;
}

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** "Nice" tick values covering [lo, hi] (about `n` of them). */
export function niceTicks(lo: number, hi: number, n = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Renders series as an SVG string (axes, ticks, legend). */
export function linePlotSvg(series: readonly LineSeries[], opts: LinePlotOptions = {}): string {
  if (series.length === 0) throw new ValueError("linePlotSvg: no series");
  const W = opts.width ?? 720;
  const H = opts.height ?? 420;
  const m = { left: 70, right: 150, top: opts.title ? 40 : 20, bottom: 50 };
  const tf = (v: number) => (opts.logY ? Math.log10(v) : v);
  let [x0, x1] = opts.xRange ?? [Infinity, -Infinity];
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new ValueError(`series "${s.label}": x has ${s.x.length} values, y has ${s.y.length}`);
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      if (!opts.xRange) [x0, x1] = [Math.min(x0, x), Math.max(x1, x)];
      const y = s.y[i]!;
      if (x < x0 || x > x1 || !Number.isFinite(y) || (opts.logY && y <= 0)) continue;
      y0 = Math.min(y0, tf(y));
      y1 = Math.max(y1, tf(y));
    }
  }
  if (!Number.isFinite(y0)) throw new ValueError("linePlotSvg: nothing finite to plot");
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = 0.04 * (y1 - y0); // keep peaks off the frame
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  if (opts.title) out.push(`<text x="${m.left}" y="22" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  for (const t of niceTicks(x0, x1)) {
    out.push(`<line x1="${px(t)}" y1="${H - m.bottom}" x2="${px(t)}" y2="${H - m.bottom + 4}" stroke="#444"/>`);
    out.push(`<text x="${px(t)}" y="${H - m.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    out.push(`<line x1="${m.left - 4}" y1="${py(t)}" x2="${W - m.right}" y2="${py(t)}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end">${opts.logY ? `1e${t}` : t}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#444"/>`);
  if (opts.xLabel) out.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  if (opts.yLabel) out.push(`<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  series.forEach((s, k) => {
    const pts: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (x < x0 || x > x1 || !Number.isFinite(y) || (opts.logY && y <= 0)) continue;
      pts.push(`${px(x).toFixed(1)},${py(tf(y)).toFixed(1)}`);
    }
    const colour = COLOURS[k % COLOURS.length]!;
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.3" points="${pts.join(" ")}"/>`);
    out.push(`<line x1="${W - m.right + 12}" y1="${m.top + 10 + k * 16}" x2="${W - m.right + 30}" y2="${m.top + 10 + k * 16}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.right + 36}" y="${m.top + 14 + k * 16}">${esc(s.label)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
