/**
 * The shared sparse mixture-of-experts core: routers, static-shape capacity
 * dispatch, expert FFNs, balancing losses, the `ffn` config switch, upcycling,
 * MC-SMoE merging/compression and expert masks.
 */
export * from "./router.js";
export * from "./dispatch.js";
export * from "./experts.js";
export * from "./losses.js";
export * from "./layer.js";
export * from "./aux.js";
export * from "./ffn.js";
export * from "./upcycle.js";
export * from "./mcsmoe.js";
export * from "./adamoe.js";
export * from "./mote.js";
export * from "./dense2moe.js";
export * from "./moa.js";
export { constantTopK } from "./autodiff.js";
export { matrix, type Matrix } from "./merge/matrix.js";
export * from "./merge/lsa.js";
export * from "./merge/svd.js";
export * from "./merge/expert-weights.js";
export * from "./merge/align.js";
export * from "./merge/group.js";
export * from "./merge/merge.js";
export * from "./merge/compress.js";
