/**
 * FIF coil types (`FIFFV_COIL_*`) and what they measure. MEG channel kinds and
 * BrainOmni's orientation rule are decided from this table, never from names:
 * planar gradiometers measure a gradient along `loc[3:6]` (ex); magnetometers
 * and axial gradiometers face along the coil normal `loc[9:12]` (ez).
 */
export interface CoilTypeInfo {
  /** MNE's constant name without the `FIFFV_COIL_` prefix. */
  name: string;
  /** What the coil measures: a field (T) or a field gradient (T/m). */
  measures: "mag" | "grad";
  /** Planar gradiometer (gradient along ex), as opposed to axial or magnetometer (along ez). */
  planar: boolean;
  /** A reference sensor of the compensation system, not a head sensor. */
  reference: boolean;
}

const T = (name: string, measures: "mag" | "grad", planar = false, reference = false): CoilTypeInfo => ({ name, measures, planar, reference });

/** Known MEG coil types (the CTF compensation grade must already be masked off). */
export const MEG_COIL_TYPES: ReadonlyMap<number, CoilTypeInfo> = new Map([
  [2, T("NM_122", "grad", true)],
  [3, T("NM_24", "grad", true)],
  [4, T("NM_MCG_AXIAL", "grad")],
  [1000, T("MCG_42", "grad")],
  [2000, T("POINT_MAGNETOMETER", "mag")],
  [2001, T("AXIAL_GRAD_5CM", "grad")],
  [3011, T("VV_PLANAR_W", "grad", true)],
  [3012, T("VV_PLANAR_T1", "grad", true)],
  [3013, T("VV_PLANAR_T2", "grad", true)],
  [3014, T("VV_PLANAR_T3", "grad", true)],
  [3015, T("VV_PLANAR_T4", "grad", true)],
  [3021, T("VV_MAG_W", "mag")],
  [3022, T("VV_MAG_T1", "mag")],
  [3023, T("VV_MAG_T2", "mag")],
  [3024, T("VV_MAG_T3", "mag")],
  [3025, T("VV_MAG_T4", "mag")],
  [4001, T("MAGNES_MAG", "mag")],
  [4002, T("MAGNES_GRAD", "grad")],
  [4003, T("MAGNES_REF_MAG", "mag", false, true)],
  [4004, T("MAGNES_REF_GRAD", "grad", false, true)],
  [4005, T("MAGNES_OFFDIAG_REF_GRAD", "grad", false, true)],
  [5001, T("CTF_GRAD", "grad")],
  [5002, T("CTF_REF_MAG", "mag", false, true)],
  [5003, T("CTF_REF_GRAD", "grad", false, true)],
  [5004, T("CTF_OFFDIAG_REF_GRAD", "grad", false, true)],
  [6001, T("KIT_GRAD", "grad")],
  [6002, T("KIT_REF_MAG", "mag", false, true)],
  [7001, T("BABY_GRAD", "grad")],
  [7002, T("BABY_MAG", "mag")],
  [7003, T("BABY_REF_MAG", "mag", false, true)],
  [7004, T("BABY_REF_MAG2", "mag", false, true)],
  [7501, T("ARTEMIS123_GRAD", "grad")],
  [7502, T("ARTEMIS123_REF_MAG", "mag", false, true)],
  [7503, T("ARTEMIS123_REF_GRAD", "grad", false, true)],
  [8001, T("QUSPIN_ZFOPM_MAG", "mag")],
  [8002, T("QUSPIN_ZFOPM_MAG2", "mag")],
  [8101, T("FIELDLINE_OPM_MAG_GEN1", "mag")],
  [8201, T("KERNEL_OPM_MAG_GEN1", "mag")],
  [9001, T("KRISS_GRAD", "grad")],
  [9101, T("COMPUMEDICS_ADULT_GRAD", "grad")],
  [9102, T("COMPUMEDICS_PEDIATRIC_GRAD", "grad")],
]);

/** The coil type without the CTF compensation grade stored in bits 16 and up. */
export function baseCoilType(coilType: number): number {
  return coilType & 0xffff;
}

/** The CTF compensation grade stored in a coil type's upper bits (0 when none). */
export function compensationGrade(coilType: number): number {
  return coilType >>> 16;
}

/** What a MEG coil type measures, or `undefined` for a type not in the table. */
export function megCoilInfo(coilType: number): CoilTypeInfo | undefined {
  return MEG_COIL_TYPES.get(baseCoilType(coilType));
}
