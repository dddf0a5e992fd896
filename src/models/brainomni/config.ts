import { ConfigError } from "../../errors.js";

/**
 * BrainTokenizer hyper-parameters, with the official `model_cfg.json` key
 * names turned to camelCase. Shapes below use D = `nDim`, P = `nNeuro`,
 * Q = `numQuantizers`, M = `codebookSize`.
 */
export interface BrainTokenizerConfig {
  /** Samples per tokenizer window (512 = 2 s at 256 Hz). */
  windowLength: number;
  /** SEANet base width F (channels after the first conv). */
  nFilters: number;
  /** SEANet up-sampling ratios as the decoder uses them; the encoder uses them reversed. */
  ratios: number[];
  kernelSize: number;
  lastKernelSize: number;
  /** Width D of every latent vector. */
  nDim: number;
  /** Number P of latent sources (learned queries of the backward solution). */
  nNeuro: number;
  /** Heads of both cross-attentions (head width D / nHead). */
  nHead: number;
  dropout: number;
  /** Must equal nDim (the official code then has no VQ projections). */
  codebookDim: number;
  /** Codewords M per quantizer level. */
  codebookSize: number;
  /** Residual levels Q. */
  numQuantizers: number;
  rotationTrick: boolean;
  quantizeOptimizeMethod: "ema";
}

/** Stage-2 BrainOmni hyper-parameters (a tokenizer config plus the transformer). */
export interface BrainOmniConfig extends BrainTokenizerConfig {
  /** Window overlap of the tokenizer pass feeding the transformer (0.25 → stride 384). */
  overlapRatio: number;
  /** Transformer width (a projection D → lmDim exists only when they differ). */
  lmDim: number;
  /** Total heads; half attend over time, half over sources. */
  lmHead: number;
  lmDepth: number;
  lmDropout: number;
  maskRatio: number;
  numQuantizersUsed: number;
}

/** The released BrainTokenizer (`OpenTSLab/BrainOmni`, braintokenizer/model_cfg.json). 5,050,338 parameters. */
export const RELEASED_TOKENIZER: Readonly<BrainTokenizerConfig> = Object.freeze({
  windowLength: 512,
  nFilters: 32,
  ratios: [8, 4, 2],
  kernelSize: 5,
  lastKernelSize: 5,
  nDim: 256,
  nNeuro: 16,
  nHead: 4,
  dropout: 0,
  codebookDim: 256,
  codebookSize: 512,
  numQuantizers: 4,
  rotationTrick: true,
  quantizeOptimizeMethod: "ema",
});

/**
 * The small tokenizer neurocode trains and bundles as a demonstration
 * (`models/brainomni-demo/`): the released architecture at 1/8 width
 * (SEANet base 4, latent 32), 16 sources, 4 × 128 codes.
 */
export const DEMO_TOKENIZER: Readonly<BrainTokenizerConfig> = Object.freeze({
  ...RELEASED_TOKENIZER,
  nFilters: 4,
  nDim: 32,
  codebookDim: 32,
  codebookSize: 128,
});

const STAGE2_COMMON = { overlapRatio: 0.25, lmDepth: 12, lmDropout: 0.1, maskRatio: 0.5, numQuantizersUsed: 4 } as const;

/** BrainOmni tiny: width 256, 8 heads, 12 blocks (13,475,042 parameters with the tokenizer). */
export const BRAINOMNI_TINY: Readonly<BrainOmniConfig> = Object.freeze({
  ...RELEASED_TOKENIZER, ...STAGE2_COMMON, lmDim: 256, lmHead: 8,
});

/** BrainOmni base: width 512, 16 heads, 12 blocks (37,757,666 parameters with the tokenizer). */
export const BRAINOMNI_BASE: Readonly<BrainOmniConfig> = Object.freeze({
  ...RELEASED_TOKENIZER, ...STAGE2_COMMON, lmDim: 512, lmHead: 16,
});

const TOKENIZER_KEYS: Record<keyof BrainTokenizerConfig, string> = {
  windowLength: "window_length",
  nFilters: "n_filters",
  ratios: "ratios",
  kernelSize: "kernel_size",
  lastKernelSize: "last_kernel_size",
  nDim: "n_dim",
  nNeuro: "n_neuro",
  nHead: "n_head",
  dropout: "dropout",
  codebookDim: "codebook_dim",
  codebookSize: "codebook_size",
  numQuantizers: "num_quantizers",
  rotationTrick: "rotation_trick",
  quantizeOptimizeMethod: "quantize_optimize_method",
};

const OMNI_KEYS: Record<Exclude<keyof BrainOmniConfig, keyof BrainTokenizerConfig>, string> = {
  overlapRatio: "overlap_ratio",
  lmDim: "lm_dim",
  lmHead: "lm_head",
  lmDepth: "lm_depth",
  lmDropout: "lm_dropout",
  maskRatio: "mask_ratio",
  numQuantizersUsed: "num_quantizers_used",
};

function posInt(v: unknown, key: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new ConfigError(key, `expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function fraction(v: unknown, key: string): number {
  if (typeof v !== "number" || !(v >= 0 && v < 1)) throw new ConfigError(key, `expected a number in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

/** Checks the relations between fields that the architecture needs; throws `ConfigError` naming the key. */
export function validateTokenizerConfig(c: BrainTokenizerConfig): BrainTokenizerConfig {
  for (const k of ["windowLength", "nFilters", "kernelSize", "lastKernelSize", "nDim", "nNeuro", "nHead", "codebookDim", "codebookSize", "numQuantizers"] as const) {
    posInt(c[k], k);
  }
  fraction(c.dropout, "dropout");
  if (!Array.isArray(c.ratios) || c.ratios.length === 0) throw new ConfigError("ratios", "expected a non-empty list of integers");
  c.ratios.forEach((r, i) => posInt(r, `ratios[${i}]`));
  const hop = c.ratios.reduce((a, b) => a * b, 1);
  if (c.windowLength % hop !== 0) throw new ConfigError("windowLength", `must be a multiple of the SEANet hop ${hop}`);
  if (c.nDim % c.nHead !== 0) throw new ConfigError("nHead", `nDim ${c.nDim} is not divisible by nHead ${c.nHead}`);
  if (c.codebookDim !== c.nDim) throw new ConfigError("codebookDim", `must equal nDim (${c.nDim}); the official model has no VQ projection`);
  if (c.quantizeOptimizeMethod !== "ema") throw new ConfigError("quantizeOptimizeMethod", `only "ema" is implemented, got ${JSON.stringify(c.quantizeOptimizeMethod)}`);
  if (typeof c.rotationTrick !== "boolean") throw new ConfigError("rotationTrick", "expected a boolean");
  return c;
}

/** Checks a stage-2 config (and its tokenizer part). */
export function validateOmniConfig(c: BrainOmniConfig): BrainOmniConfig {
  validateTokenizerConfig(c);
  for (const k of ["lmDim", "lmHead", "lmDepth"] as const) posInt(c[k], k);
  fraction(c.overlapRatio, "overlapRatio");
  fraction(c.lmDropout, "lmDropout");
  fraction(c.maskRatio, "maskRatio");
  if (c.lmHead % 2 !== 0) throw new ConfigError("lmHead", "must be even (half the heads attend over time, half over sources)");
  if ((c.lmDim / 2) % (c.lmHead / 2) !== 0) throw new ConfigError("lmHead", `lmDim/2 = ${c.lmDim / 2} is not divisible by lmHead/2 = ${c.lmHead / 2}`);
  if (((c.lmDim / 2) / (c.lmHead / 2)) % 2 !== 0) throw new ConfigError("lmHead", "attention head width must be even (rotary pairs)");
  if (c.numQuantizersUsed !== c.numQuantizers) {
    throw new ConfigError("numQuantizersUsed", `only ${c.numQuantizers} (= numQuantizers) works; the official label shape breaks otherwise`);
  }
  return c;
}

function fromSnake<T extends object>(obj: Record<string, unknown>, keys: Record<string, string>, path: string): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [camel, snake] of Object.entries(keys)) {
    if (!(snake in obj)) throw new ConfigError(`${path}.${snake}`, "missing");
    out[camel] = obj[snake];
  }
  return out as Partial<T>;
}

/**
 * Reads an official config dictionary (`model_cfg.json`, or the JSON in a
 * safetensors `__metadata__.config`) with snake_case keys. Stage-2 keys make
 * it a `BrainOmniConfig`. Unknown keys are ignored, as the official code does.
 */
export function parseOfficialConfig(json: string | Record<string, unknown>, path = "config"): BrainTokenizerConfig | BrainOmniConfig {
  let obj: Record<string, unknown>;
  if (typeof json === "string") {
    try {
      obj = JSON.parse(json) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(path, `not valid JSON: ${(e as Error).message}`);
    }
  } else obj = json;
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new ConfigError(path, "expected a JSON object");
  const tok = fromSnake<BrainTokenizerConfig>(obj, TOKENIZER_KEYS, path) as BrainTokenizerConfig;
  if (!("lm_dim" in obj)) return validateTokenizerConfig({ ...tok, ratios: [...(tok.ratios as number[])] });
  const omni = { ...tok, ...fromSnake<BrainOmniConfig>(obj, OMNI_KEYS, path), ratios: [...(tok.ratios as number[])] } as BrainOmniConfig;
  return validateOmniConfig(omni);
}

/** Writes a config back with the official snake_case keys (for `__metadata__` and `model_cfg.json`). */
export function toOfficialConfig(c: BrainTokenizerConfig | BrainOmniConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [camel, snake] of Object.entries(TOKENIZER_KEYS)) out[snake] = (c as unknown as Record<string, unknown>)[camel];
  if ("lmDim" in c) for (const [camel, snake] of Object.entries(OMNI_KEYS)) out[snake] = (c as unknown as Record<string, unknown>)[camel];
  return out;
}

/** True when the config carries the stage-2 fields. */
export function isOmniConfig(c: BrainTokenizerConfig | BrainOmniConfig): c is BrainOmniConfig {
  return "lmDim" in c;
}

/** SEANet hop: samples per latent frame (product of the ratios; 64 for the release). */
export function hopLength(c: BrainTokenizerConfig): number {
  return c.ratios.reduce((a, b) => a * b, 1);
}

/** Latent frames per window (windowLength / hop; 8 for the release). */
export function framesPerWindow(c: BrainTokenizerConfig): number {
  return c.windowLength / hopLength(c);
}
