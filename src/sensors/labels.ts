/**
 * Channel-label normalisation: the many ways files name the same electrode
 * (`Fp1`, `FP1`, `EEG Fp1-REF`, `EEG FP1-LE`, `Fp1-A1`, `Fp1:M1`) reduce to one
 * key so montage positions can be matched.
 */

/** Reference names that may follow an electrode label after `-` (a referential channel, not a bipolar pair). */
const REFERENCE_SUFFIXES = ["REF", "AVG", "AV", "AR", "CAR", "LE", "RE", "LM", "RM", "A1", "A2", "M1", "M2", "A1A2", "M1M2", "LINK", "LINKED"];

const TYPE_PREFIX = /^(EEG|EOG|ECG|EKG|EMG|SEEG|ECOG|POL)[\s_:]+/i;
const REF_SUFFIX = new RegExp(`\\s*[-–:/]\\s*(${REFERENCE_SUFFIXES.join("|")})(-\\d+)?$`, "i");

/**
 * The electrode name inside a channel label: strips a type prefix (`EEG `,
 * `EOG `...), a reference suffix (`-REF`, `-LE`, `-A1`, `-M2`, `-AVG`...,
 * and an MNE de-duplication number after it) and surrounding space. Case is
 * kept; match with `labelKey`.
 */
export function electrodeName(label: string): string {
  return label.trim().replace(TYPE_PREFIX, "").replace(REF_SUFFIX, "").trim();
}

/** A case-insensitive matching key for a channel label (`EEG FP1-REF` and `Fp1` give the same key). */
export function labelKey(label: string): string {
  return electrodeName(label).toUpperCase();
}

/**
 * MNE's `CHANNEL_LOC_ALIASES` (old 10-20 names to 10-05 names), used when a
 * label is not in a montage. Note MNE maps T5/T6 to T9/T10; in the modified
 * combinatorial nomenclature old T5/T6 are P7/P8. Kept as MNE has it so
 * positions match what MNE users get.
 */
export const CHANNEL_LOC_ALIASES: Readonly<Record<string, string>> = {
  Cb1: "POO7",
  Cb2: "POO8",
  CB1: "POO7",
  CB2: "POO8",
  T1: "T9",
  T2: "T10",
  T3: "T7",
  T4: "T8",
  T5: "T9",
  T6: "T10",
  M1: "TP9",
  M2: "TP10",
  VREF: "Cz",
  "Vertex Reference": "Cz",
};

/**
 * Index of the channel a montage label designates: the exact name first,
 * then the normalised label (`Fp1` matches `EEG FP1-REF`), then MNE's
 * aliases (`T3` → `T7`...). −1 when none matches.
 */
export function findChannelByLabel(names: readonly string[], label: string): number {
  const exact = names.indexOf(label);
  if (exact >= 0) return exact;
  const keys = names.map(labelKey);
  let i = keys.indexOf(labelKey(label));
  const alias = CHANNEL_LOC_ALIASES[label] ?? CHANNEL_LOC_ALIASES[label.toUpperCase()];
  if (i < 0 && alias) i = keys.indexOf(alias.toUpperCase());
  return i;
}
