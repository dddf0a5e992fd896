import { ShapeError, ValueError } from "../../errors.js";
import { megCoilInfo } from "../../sensors/coil-types.js";
import type { Sensor } from "../../sensors/sensor.js";

/** Sensor type ids as the BrainOmni checkpoints use them (`SENSOR_TYPE_DICT` in the official code). */
export const SENSOR_TYPE_ID = Object.freeze({ eeg: 0, mag: 1, grad: 2 } as const);
export type SensorTypeId = 0 | 1 | 2;

/** Which FIF `loc` orientation vector a coil contributes: `ex` = loc[3:6] (planar gradient direction), `ez` = loc[9:12] (coil normal). */
export type OrientationAxis = "ex" | "ez";

interface CoilRule {
  type: SensorTypeId;
  axis: OrientationAxis;
}

/**
 * BrainOmni type id and orientation axis of a MEG coil type.
 *
 * The official code tests substrings of MNE's printed coil constant:
 * `"PLANAR"` → GRAD with ex, `"MAG"` → MAG with ez, anything else → GRAD with
 * ez. Here the same rule is applied to the constant names of the explicit
 * integer table `MEG_COIL_TYPES` (src/sensors), so the result never depends on
 * how a value prints. Reproduced on purpose: MAGNES_GRAD (4002) contains "MAG"
 * and counts as MAG; Neuromag-122 planar coils (`NM_122`) do not contain
 * "PLANAR" and count as GRAD with the coil normal. Coil types missing from the
 * table print as bare integers upstream and so land in the GRAD/ez branch.
 */
export function megCoilRule(coilType: number): CoilRule {
  const name = megCoilInfo(coilType)?.name ?? "";
  if (name.includes("PLANAR")) return { type: 2, axis: "ex" };
  if (name.includes("MAG")) return { type: 1, axis: "ez" };
  return { type: 2, axis: "ez" };
}

/** One channel as the official `extract_pos_sensor_type` sees it: FIF kind (1 MEG, 2 EEG), coil type and the 12-float `loc`. */
export interface FifChannelGeometry {
  kind: 1 | 2;
  coilType: number;
  /** position (3), then ex, ey, ez (3 each), head frame, metres. */
  loc: ArrayLike<number>;
}

/** Per-channel BrainOmni inputs before position normalisation. */
export interface SensorVectors {
  /** C×6 row-major: x, y, z, dx, dy, dz. */
  pos: Float32Array;
  /** C type ids (EEG 0, MAG 1, GRAD 2). */
  type: Int32Array;
  nChannels: number;
}

/**
 * Builds the 6-number vectors and type ids from FIF channel geometry, exactly
 * as `extract_pos_sensor_type`: EEG orientation is zero; planar gradiometers
 * use ex (loc[3:6]); every other MEG coil uses ez (loc[9:12]).
 */
export function sensorVectorsFromFif(chs: readonly FifChannelGeometry[]): SensorVectors {
  const C = chs.length;
  const pos = new Float32Array(C * 6);
  const type = new Int32Array(C);
  chs.forEach((ch, c) => {
    if (ch.loc.length < 12) throw new ShapeError(`channel ${c} loc`, [12], [ch.loc.length]);
    for (let i = 0; i < 3; i++) pos[c * 6 + i] = ch.loc[i]!;
    if (ch.kind === 2) {
      type[c] = SENSOR_TYPE_ID.eeg;
    } else if (ch.kind === 1) {
      const rule = megCoilRule(ch.coilType);
      type[c] = rule.type;
      const off = rule.axis === "ex" ? 3 : 9;
      for (let i = 0; i < 3; i++) pos[c * 6 + 3 + i] = ch.loc[off + i]!;
    } else {
      throw new ValueError(`channel ${c}: FIF kind ${String(ch.kind)} is neither MEG (1) nor EEG (2); BrainOmni takes EEG and MEG only`);
    }
  });
  return { pos, type, nChannels: C };
}

/**
 * Builds the vectors from neurocode `Sensor` records. The type id comes from
 * the coil-type table when `coilType` is set (MEG), else from `sensor.type`
 * (`eeg`, `mag`, `grad`). `Sensor.orientation` is taken as the axis the
 * table names (neurocode's sensors layer stores ex for planar gradiometers and
 * the coil normal otherwise); EEG orientation is written as zeros.
 */
export function sensorVectorsFromSensors(sensors: readonly (Sensor | undefined)[], names?: readonly string[]): SensorVectors {
  const C = sensors.length;
  const pos = new Float32Array(C * 6);
  const type = new Int32Array(C);
  sensors.forEach((s, c) => {
    const label = names?.[c] ?? `channel ${c}`;
    if (!s) throw new ValueError(`${label}: no sensor geometry; BrainOmni needs a position (and an orientation for MEG)`);
    let id: SensorTypeId;
    if (s.type === "eeg") id = 0;
    else if (s.type === "mag" || s.type === "grad") id = s.coilType !== undefined ? megCoilRule(s.coilType).type : SENSOR_TYPE_ID[s.type];
    else throw new ValueError(`${label}: sensor type "${s.type}" is not EEG or MEG`);
    type[c] = id;
    for (let i = 0; i < 3; i++) {
      const p = s.position[i]!;
      if (!Number.isFinite(p)) throw new ValueError(`${label}: position is not finite`);
      pos[c * 6 + i] = p;
      pos[c * 6 + 3 + i] = s.type === "eeg" ? 0 : s.orientation[i]!;
    }
  });
  return { pos, type, nChannels: C };
}

/**
 * Which channels count as "MEG" when positions are normalised.
 * `pretraining` (default, correct): MAG ∪ GRAD together, as `factory/utils.py` does.
 * `downstream-bug`: the downstream dataset makers pass the MAG mask where the
 * MEG mask belongs, so GRAD positions stay in raw metres and MAG is scaled alone.
 */
export type PositionNormalisation = "pretraining" | "downstream-bug";

/**
 * `normalize_pos`: per set (EEG; MEG), centre xyz on the set mean, then divide
 * by sqrt(3 · mean ‖xyz‖²), so the mean squared radius is 1/3. Orientation is
 * untouched. Returns a new array; computed in float64.
 */
export function normalizePositions(v: SensorVectors, mode: PositionNormalisation = "pretraining"): SensorVectors {
  const pos = Float32Array.from(v.pos);
  const eeg: number[] = [];
  const meg: number[] = [];
  for (let c = 0; c < v.nChannels; c++) {
    const t = v.type[c]!;
    if (t === 0) eeg.push(c);
    else if (mode === "pretraining" || t === 1) meg.push(c);
  }
  for (const set of [eeg, meg]) {
    if (set.length === 0) continue;
    const mean = [0, 0, 0];
    for (const c of set) for (let i = 0; i < 3; i++) mean[i]! += v.pos[c * 6 + i]! / set.length;
    let ms = 0;
    const centred = set.map((c) => [0, 1, 2].map((i) => v.pos[c * 6 + i]! - mean[i]!));
    for (const p of centred) ms += (p[0]! ** 2 + p[1]! ** 2 + p[2]! ** 2) / set.length;
    const scale = Math.sqrt(3 * ms);
    // One channel (or coincident channels) gives scale 0; upstream would divide by zero and then reject the NaN segment.
    if (!(scale > 0)) throw new ValueError(`cannot normalise positions: ${set.length} ${set === eeg ? "EEG" : "MEG"} sensor(s) all at one point`);
    set.forEach((c, j) => {
      for (let i = 0; i < 3; i++) pos[c * 6 + i] = centred[j]![i]! / scale;
    });
  }
  return { pos, type: Int32Array.from(v.type), nChannels: v.nChannels };
}
