/** neurocode's version, written into checkpoints and file headers. */
export const VERSION = "0.1.0";
