import { describe, expect, it } from "vitest";
import { linePlotSvg, niceTicks } from "../../src/plot/line.js";
import { ValueError } from "../../src/errors.js";

describe("SVG line plots", () => {
  it("chooses round ticks that cover the range", () => {
    expect(niceTicks(0, 45)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(-13.2, -9.8)).toEqual([-13, -12, -11, -10]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it("draws one polyline per series with every in-range finite point, log-scaled on request", () => {
    const svg = linePlotSvg(
      [
        { label: "a<b", x: [0, 1, 2, 3], y: [1, 10, 100, 0] },
        { label: "c", x: [0, 1, 2, 3], y: [2, 2, NaN, 2] },
      ],
      { logY: true, title: "t" },
    );
    expect(svg.startsWith("<svg")).toBe(true);
    const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(" ").length);
    expect(lines).toEqual([3, 3]); // y = 0 (log) and NaN are skipped
    expect(svg).toContain("a&lt;b");
    expect(() => linePlotSvg([{ label: "x", x: [1, 2], y: [1] }])).toThrow(ValueError);
    expect(() => linePlotSvg([])).toThrow(ValueError);
  });
});
