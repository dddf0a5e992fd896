/**
 * FIFF constants (MEGIN's dictionary as MNE-Python names them), limited to
 * what the reader and writer use. Values from `shared/reference/formats.md` §2.
 */

/** Tag data types (`FIFFT_*`). */
export const FIFFT = {
  VOID: 0,
  BYTE: 1,
  SHORT: 2,
  INT: 3,
  FLOAT: 4,
  DOUBLE: 5,
  JULIAN: 6,
  USHORT: 7,
  UINT: 8,
  STRING: 10,
  DAU_PACK16: 16,
  COMPLEX_FLOAT: 20,
  COMPLEX_DOUBLE: 21,
  CH_INFO_STRUCT: 30,
  ID_STRUCT: 31,
  DIR_ENTRY_STRUCT: 32,
  DIG_POINT_STRUCT: 33,
  COORD_TRANS_STRUCT: 35,
  /** Dense matrix flag in the upper bits of a type; low 16 bits are the element type. */
  MATRIX: 0x40000000,
} as const;

/** Block kinds (`FIFFB_*`). */
export const FIFFB = {
  ROOT: 999,
  MEAS: 100,
  MEAS_INFO: 101,
  RAW_DATA: 102,
  PROCESSED_DATA: 103,
  EVOKED: 104,
  ASPECT: 105,
  ISOTRAK: 107,
  HPI_RESULT: 109,
  CONTINUOUS_DATA: 112,
  CH_INFO: 113,
  REF: 118,
  IAS_RAW_DATA: 119,
  PROJ: 313,
  PROJ_ITEM: 314,
  MNE_NAMED_MATRIX: 357,
  MNE_BAD_CHANNELS: 359,
  MNE_CTF_COMP: 370,
  MNE_CTF_COMP_DATA: 371,
  MNE_ANNOTATIONS: 3810,
} as const;

/** Tag kinds (`FIFF_*`). */
export const FIFF = {
  FILE_ID: 100,
  DIR_POINTER: 101,
  DIR: 102,
  BLOCK_ID: 103,
  BLOCK_START: 104,
  BLOCK_END: 105,
  FREE_LIST: 106,
  NOP: 108,
  PARENT_FILE_ID: 109,
  PARENT_BLOCK_ID: 110,
  REF_ROLE: 115,
  REF_FILE_ID: 116,
  REF_FILE_NUM: 117,
  REF_FILE_NAME: 118,
  NCHAN: 200,
  SFREQ: 201,
  DATA_PACK: 202,
  CH_INFO: 203,
  MEAS_DATE: 204,
  COMMENT: 206,
  NAVE: 207,
  FIRST_SAMPLE: 208,
  LAST_SAMPLE: 209,
  ASPECT_KIND: 210,
  EXPERIMENTER: 212,
  DIG_POINT: 213,
  LOWPASS: 219,
  HIGHPASS: 223,
  COORD_TRANS: 222,
  NAME: 233,
  LINE_FREQ: 235,
  DESCRIPTION: 206,
  CH_SCAN_NO: 250,
  CH_LOGICAL_NO: 251,
  CH_KIND: 252,
  CH_RANGE: 253,
  CH_CAL: 254,
  CH_LOC: 255,
  CH_UNIT: 256,
  CH_UNIT_MUL: 257,
  CH_DACQ_NAME: 258,
  CH_COIL_TYPE: 350,
  CH_COORD_FRAME: 351,
  DATA_BUFFER: 300,
  DATA_SKIP: 301,
  EPOCH: 302,
  PROJ_ITEM_KIND: 3411,
  PROJ_ITEM_TIME: 3412,
  PROJ_ITEM_NVEC: 3414,
  PROJ_ITEM_VECTORS: 3415,
  PROJ_ITEM_CH_NAME_LIST: 3417,
  MNE_ROW_NAMES: 3502,
  MNE_COL_NAMES: 3503,
  MNE_NROW: 3504,
  MNE_NCOL: 3505,
  MNE_COORD_FRAME: 3506,
  MNE_CH_NAME_LIST: 3507,
  MNE_PROJ_ITEM_ACTIVE: 3560,
  MNE_BASELINE_MIN: 3568,
  MNE_BASELINE_MAX: 3569,
  MNE_CTF_COMP_KIND: 3580,
  MNE_CTF_COMP_DATA: 3581,
  MNE_CTF_COMP_CALIBRATED: 3582,
  MNE_EPOCHS_DROP_LOG: 3801,
} as const;

/** `next` field values of a tag header. */
export const FIFFV_NEXT_SEQ = 0;
export const FIFFV_NEXT_NONE = -1;
/** `FIFF_REF_ROLE` values of the references between split files. */
export const FIFFV_ROLE_PREV_FILE = 1;
export const FIFFV_ROLE_NEXT_FILE = 2;

/** Channel kinds (`FIFFV_*_CH`). */
export const FIFFV_CH = {
  MEG: 1,
  EEG: 2,
  STIM: 3,
  BIO: 102,
  EOG: 202,
  REF_MEG: 301,
  EMG: 302,
  ECG: 402,
  MISC: 502,
  RESP: 602,
  SEEG: 802,
  DBS: 803,
  SYST: 900,
  ECOG: 902,
  IAS: 910,
  EXCI: 920,
  FNIRS: 1100,
  TEMPERATURE: 1200,
  GALVANIC: 1300,
} as const;

/** Coordinate frames (`FIFFV_COORD_*`). */
export const FIFFV_COORD = { UNKNOWN: 0, DEVICE: 1, HEAD: 4 } as const;

/** Units (`FIFF_UNIT_*`) the reader names; others print as `unit <code>`. */
export const FIFF_UNIT_NAMES: Readonly<Record<number, string>> = {
  [-1]: "",
  0: "",
  1: "m",
  2: "kg",
  3: "s",
  4: "A",
  5: "K",
  6: "mol",
  7: "rad",
  8: "sr",
  9: "cd",
  101: "Hz",
  102: "N",
  103: "Pa",
  104: "J",
  105: "W",
  106: "C",
  107: "V",
  108: "F",
  109: "Ohm",
  110: "S",
  111: "Wb",
  112: "T",
  113: "H",
  114: "Cel",
  115: "lm",
  116: "lx",
  201: "T/m",
  202: "Am",
};

/** `FIFFC_VERSION` written by MNE-Python (major << 16 | minor). */
export const FIFFC_VERSION = 0x00010004;
