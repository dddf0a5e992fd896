/**
 * Readers repair what real files get wrong and say so. A repair is a
 * `NeurocodeWarning` handed to the caller's `onWarning`; by default it is
 * printed to stderr. Warnings are also kept on the Recording (`source.warnings`)
 * so nothing a reader did is invisible later.
 */
export interface NeurocodeWarning {
  /** Stable machine-readable code, e.g. `edf.nrecords-mismatch`. */
  code: string;
  /** What was wrong and what was done about it. */
  message: string;
  /** The file concerned, when there is one. */
  path?: string;
}

export type WarningHandler = (w: NeurocodeWarning) => void;

/** Prints `neurocode warning [code]: message` to stderr. */
export const printWarning: WarningHandler = (w) => {
  process.stderr.write(`neurocode warning [${w.code}]: ${w.path ? `${w.path}: ` : ""}${w.message}\n`);
};

/** Collects warnings in an array and forwards each to `forward` (if given). */
export function collectWarnings(forward?: WarningHandler): { list: NeurocodeWarning[]; handler: WarningHandler } {
  const list: NeurocodeWarning[] = [];
  return {
    list,
    handler: (w) => {
      list.push(w);
      forward?.(w);
    },
  };
}
