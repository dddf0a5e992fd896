import type { Sensor, SensorType } from "./sensor.js";
import { baseCoilType, megCoilInfo } from "./coil-types.js";

/** A rigid transform: `p' = rot · p + move` (rot row-major 3×3, move in metres). */
export interface RigidTransform {
  rot: readonly number[];
  move: readonly [number, number, number] | readonly number[];
}

function rotate(t: RigidTransform, v: readonly number[]): [number, number, number] {
  const r = t.rot;
  return [
    r[0]! * v[0]! + r[1]! * v[1]! + r[2]! * v[2]!,
    r[3]! * v[0]! + r[4]! * v[1]! + r[5]! * v[2]!,
    r[6]! * v[0]! + r[7]! * v[1]! + r[8]! * v[2]!,
  ];
}

/** Applies a rigid transform to a point (metres). */
export function applyTransform(t: RigidTransform, p: readonly number[]): [number, number, number] {
  const q = rotate(t, p);
  return [q[0] + t.move[0]!, q[1] + t.move[1]!, q[2] + t.move[2]!];
}

/** Where a FIF channel is, in the words of `sensorFromFifLoc`. */
export interface FifSensorInput {
  /** `meg` for MEG head sensors, or the electrode type. */
  modality: "meg" | "eeg" | "seeg" | "ecog";
  /** `FIFFV_COIL_*` (compensation bits allowed; they are removed). */
  coilType: number;
  /** FIF `loc[12]`: MEG in the device frame, electrodes in the head frame. */
  loc: readonly number[];
}

/**
 * The `Sensor` of a FIF channel, following BrainOmni's `extract_pos_sensor_type`
 * for which `loc` vector is the orientation: planar gradiometers use `loc[3:6]`
 * (ex, the gradient direction); magnetometers and axial gradiometers use
 * `loc[9:12]` (ez, the coil normal); electrodes get a zero orientation.
 *
 * MEG positions and orientations are moved into the head frame with
 * `devHeadT` (rotation and translation for the position, rotation only for the
 * orientation). BrainOmni's own code takes `loc` as it is (device frame for
 * MEG); pass `devHeadT = null` to get exactly that. Returns `undefined` when
 * the position is unknown (all zeros or not finite, as MNE treats it) or the
 * MEG coil type is not in `MEG_COIL_TYPES`.
 */
export function sensorFromFifLoc(input: FifSensorInput, devHeadT: RigidTransform | null): Sensor | undefined {
  const { loc } = input;
  const r0 = [loc[0]!, loc[1]!, loc[2]!];
  if (r0.some((v) => !Number.isFinite(v)) || r0.every((v) => v === 0)) return undefined;
  const coilType = baseCoilType(input.coilType);
  if (input.modality !== "meg") {
    return { position: r0 as [number, number, number], orientation: [0, 0, 0], type: input.modality, coilType };
  }
  const info = megCoilInfo(coilType);
  if (!info) return undefined;
  const ori = info.planar ? loc.slice(3, 6) : loc.slice(9, 12);
  const type: SensorType = info.measures;
  if (!devHeadT) return { position: r0 as [number, number, number], orientation: ori as [number, number, number], type, coilType };
  return { position: applyTransform(devHeadT, r0), orientation: rotate(devHeadT, ori), type, coilType };
}
