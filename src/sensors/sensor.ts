/** Sensor types as the sensor encoder distinguishes them. */
export type SensorType = "eeg" | "mag" | "grad" | "seeg" | "ecog";

/**
 * Where a sensor is and what it measures. Positions are in metres in the head
 * frame (RAS, MNE convention); orientation is a unit vector (MEG coil normal,
 * or the gradiometer baseline for planar gradiometers; zero for EEG as
 * BrainOmni defines it).
 */
export interface Sensor {
  position: [number, number, number];
  orientation: [number, number, number];
  type: SensorType;
  /** FIF coil type (`FIFFV_COIL_*`) with any CTF compensation bits removed. */
  coilType?: number;
}
