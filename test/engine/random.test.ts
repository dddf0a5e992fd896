import { describe, expect, it } from "vitest";
import { Rng, manualSeed, rng } from "../../src/engine/random.js";

describe("Rng", () => {
  it("gives the same stream for the same seed and different streams for different seeds", () => {
    const a = new Rng(123).normalArray(100);
    expect(new Rng(123).normalArray(100)).toEqual(a);
    expect(new Rng(124).normalArray(100)).not.toEqual(a);
    manualSeed(5);
    const u = rng().uniformArray(10);
    manualSeed(5);
    expect(rng().uniformArray(10)).toEqual(u);
  });

  it("draws uniform values in [0, 1) and standard normals with the right moments", () => {
    const r = new Rng(1);
    const u = r.uniformArray(100_000);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const mu = u.reduce((s, v) => s + v, 0) / u.length;
    expect(Math.abs(mu - 0.5)).toBeLessThan(0.005);
    const n = r.normalArray(100_000);
    const m = n.reduce((s, v) => s + v, 0) / n.length;
    const v = n.reduce((s, x) => s + (x - m) ** 2, 0) / n.length;
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.02);
  });

  it("getState/setState resume the stream exactly (including a cached normal)", () => {
    const r = new Rng(8);
    r.normal();
    const st = r.getState();
    const next = [r.normal(), r.uniform(), r.normal()];
    const q = new Rng(0);
    q.setState(st);
    expect([q.normal(), q.uniform(), q.normal()]).toEqual(next);
  });

  it("truncates normals to [a, b] and permutes 0..n-1", () => {
    const t = new Rng(2).truncNormalArray(10_000, 0, 1, -0.5, 0.5);
    expect(t.every((x) => x >= -0.5 && x <= 0.5)).toBe(true);
    const p = Array.from(new Rng(3).permutation(50));
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(p).not.toEqual([...Array(50).keys()]);
  });
});
