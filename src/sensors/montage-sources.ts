import { FormatError } from "../errors.js";
import type { Montage, MontageFrame, Vec3 } from "./montage.js";

/** MNE's default head radius for spherical montages (`HEAD_SIZE_DEFAULT`), metres. */
export const HEAD_SIZE_DEFAULT = 0.095;

/**
 * fsaverage's fiducials in MNI/MRI coordinates (metres), from MNE's
 * `fsaverage-fiducials.fif`: MNE puts these in place of the file's own for
 * montages in the `mri` frame (`standard_*`, `mgh*`).
 */
export const FSAVERAGE_FIDUCIALS: { nasion: Vec3; lpa: Vec3; rpa: Vec3 } = {
  lpa: [-0.08061611652374268, -0.02908875234425068, -0.04131076857447624],
  nasion: [0.0014676303835585713, 0.08506715297698975, -0.03483611345291138],
  rpa: [0.08436284959316254, -0.02850276418030262, -0.041277434676885605],
};

/** Later duplicates replace earlier ones in place, as MNE's `_check_dupes_odict` keeps the first order and the last value. */
function collect(name: string, frame: MontageFrame, labels: string[], pos: Vec3[], fid: readonly [string, string, string]): Montage {
  const map = new Map<string, Vec3>();
  labels.forEach((l, i) => map.set(l, pos[i]!));
  const take = (l: string) => {
    const v = map.get(l);
    map.delete(l);
    return v;
  };
  const [nasion, lpa, rpa] = fid.map(take);
  const m: Montage = { name, frame, labels: [...map.keys()], positions: [...map.values()] };
  if (nasion) m.nasion = nasion;
  if (lpa) m.lpa = lpa;
  if (rpa) m.rpa = rpa;
  return m;
}

/**
 * An ASA `.elc` file (positions in mm, then labels), as MNE's
 * `make_standard_montage` reads `standard_*`/`mgh*`: metres, no rescaling,
 * frame `mri` with fsaverage's fiducials.
 */
export function montageFromElc(text: string, name: string, path = "<elc>"): Montage {
  const lines = text.split(/\r?\n/);
  const p = lines.findIndex((l) => l.trim() === "Positions");
  const q = lines.findIndex((l) => l.trim() === "Labels");
  if (p < 0 || q < p) throw new FormatError({ path, field: "Positions/Labels" }, "not an ASA .elc file");
  const pos = lines.slice(p + 1, q).filter((l) => l.trim()).map((l, i) => {
    const v = l.trim().split(/\s+/).map(Number);
    if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new FormatError({ path, field: `line ${p + 2 + i}` }, "expected x y z");
    return v.map((x) => x / 1000) as Vec3;
  });
  const labels = lines.slice(q + 1).map((l) => l.trim()).filter((l) => l !== "");
  if (labels.length !== pos.length) throw new FormatError({ path, field: "Labels" }, `${labels.length} labels for ${pos.length} positions`);
  const m = collect(name, "mri", labels, pos, ["Nz", "LPA", "RPA"]);
  return { ...m, ...FSAVERAGE_FIDUCIALS };
}

/** MNE's `_sph_to_cart` with radius, azimuth `phi` and polar angle `theta` (radians). */
function sphToCart(r: number, az: number, pol: number): Vec3 {
  return [r * Math.cos(az) * Math.sin(pol), r * Math.sin(az) * Math.sin(pol), r * Math.cos(pol)];
}

/**
 * A BESA-style `Site Theta Phi` file (integer degrees on a sphere), as MNE
 * reads BioSemi and EasyCap layouts: radius `headSize` (m); EasyCap files get
 * 10-20 fiducials added (`addFiducials`), BioSemi files may carry Nz/LPA/RPA.
 */
export function montageFromThetaPhi(text: string, name: string, opts: { headSize?: number; addFiducials?: boolean; path?: string } = {}): Montage {
  const path = opts.path ?? "<theta-phi>";
  const r = opts.headSize ?? HEAD_SIZE_DEFAULT;
  const labels: string[] = [];
  const pos: Vec3[] = [];
  text.split(/\r?\n/).slice(1).forEach((l, i) => {
    const f = l.trim().split(/\s+/);
    if (f.length < 3) return;
    const theta = Math.trunc(Number(f[1]));
    const phi = Math.trunc(Number(f[2]));
    if (!Number.isFinite(theta) || !Number.isFinite(phi)) throw new FormatError({ path, field: `line ${i + 2}` }, "expected: label theta phi");
    labels.push(f[0]!);
    pos.push(sphToCart(r, (phi * Math.PI) / 180, (theta * Math.PI) / 180));
  });
  if (opts.addFiducials) {
    // MNE's 10-20 fiducial definitions for EasyCap layouts (theta, phi in degrees).
    for (const [l, theta, phi] of [["Nasion", 115, 90], ["LPA", -115, 0], ["RPA", 115, 0]] as const) {
      labels.push(l);
      pos.push(sphToCart(r, (phi * Math.PI) / 180, (theta * Math.PI) / 180));
    }
    return collect(name, "unknown", labels, pos, ["Nasion", "LPA", "RPA"]);
  }
  return collect(name, "unknown", labels, pos, ["Nz", "LPA", "RPA"]);
}

/**
 * An EGI/BESA `.sfp` file (label x y z), as MNE reads the GSN-HydroCel nets:
 * scaled so the median distance from the origin (fiducials included) is
 * `headSize`; fiducials FidNz/FidT9/FidT10.
 */
export function montageFromSfp(text: string, name: string, opts: { headSize?: number; path?: string } = {}): Montage {
  const path = opts.path ?? "<sfp>";
  const labels: string[] = [];
  const pos: Vec3[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const f = l.trim().split(/\s+/);
    if (f.length < 4 || f[0] === "headshape") return;
    // MNE parses these as float32.
    const v = f.slice(1, 4).map((x) => Math.fround(Number(x)));
    if (v.some((x) => !Number.isFinite(x))) throw new FormatError({ path, field: `line ${i + 1}` }, "expected: label x y z");
    labels.push(f[0]!);
    pos.push(v as Vec3);
  });
  const norms = pos.map((p) => Math.hypot(...p)).sort((a, b) => a - b);
  const n = norms.length;
  const median = n % 2 ? norms[(n - 1) / 2]! : (norms[n / 2 - 1]! + norms[n / 2]!) / 2;
  const s = (opts.headSize ?? HEAD_SIZE_DEFAULT) / median;
  return collect(name, "unknown", labels, pos.map((p) => [p[0] * s, p[1] * s, p[2] * s] as Vec3), ["FidNz", "FidT9", "FidT10"]);
}
