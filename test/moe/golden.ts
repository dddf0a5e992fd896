import { readFileSync } from "node:fs";
import { golden } from "../helpers/shared.js";

/** One MoE forward/backward case computed by test/reference/moe_goldens.py (float64 torch). */
export interface MoeCase {
  name: string;
  T: number;
  d: number;
  h: number;
  E: number;
  k: number;
  capacityFactor: number;
  glu: boolean;
  renormalize: boolean;
  x: number[];
  params: Record<string, number[]>;
  r: number[];
  logits: number[];
  probs: number[];
  topkIdx: number[];
  gates: number[];
  capacity: number;
  dropped: number;
  keptPerExpert: number[];
  y: number[];
  aux: number;
  z: number;
  loss: number;
  grads: Record<string, number[]>;
}

/** The parsed `test/golden/moe/moe_goldens.json`. */
export interface MoeGoldens {
  losses: { switchWorked: number; zRows: number[]; zZero8: number };
  moe: MoeCase[];
  host: {
    lsaCost: number[];
    lsaCol: number[];
    lsaCost7: number;
    lsaRect: number[];
    lsaRectCol: number[];
    lsaRectValue: number;
    svdA: number[];
    svdS: number[];
    mergeW: number[][];
    mergeF: number[];
    merged02: number[];
  };
}

export const goldens: MoeGoldens = JSON.parse(readFileSync(golden("moe/moe_goldens.json"), "utf8")) as MoeGoldens;
