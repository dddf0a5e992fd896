/** Published models reproduced by neurocode. */
export * as brainomni from "./brainomni/index.js";
export { BrainTokenizer, BrainOmni, loadTokenizer, loadOmni, tokenizeRecording, codesTable, decodeCodes, RELEASED_TOKENIZER, BRAINOMNI_TINY, BRAINOMNI_BASE } from "./brainomni/index.js";
export type { BrainTokenizerConfig, BrainOmniConfig, TokenizedRecording, SegmentCodes, TokenizeRecordingOptions } from "./brainomni/index.js";
