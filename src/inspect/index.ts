/**
 * The shared activation-inspection core: record what any `Module` computes
 * (hooks → Arrow), analyse the records (LAC voids, massive activations,
 * sparsity, layer contribution, expert usage, neuron paths) and intervene
 * (skip, scale, overwrite, top-k) through one patch mechanism.
 */
export { channelsLast, rowLayout, type RowLayout, type RowStats, type RowStatsOptions } from "./stats.js";
export { nameMatcher, type NamePattern } from "./patterns.js";
export { ActivationTableBuilder, concatActivationTables, moduleOrder, type ActivationMeta, type ActivationTable, type CallRecord, type TableBuilderOptions } from "./records.js";
export { activationsFromArrow, activationsToArrow, readActivations, writeActivations } from "./arrow.js";
export { ActivationRecorder, matchModules, primaryTensor, type RecorderOptions } from "./recorder.js";
export { lacActivated, layersToSkip, voidsFromTable, type VoidMap, type VoidOptions } from "./voids.js";
export { massiveActivations, massiveFromTable, type MassiveActivation, type MassiveOptions, type MassiveReport, type MassiveTableReport } from "./massive.js";
export { activationSparsity, sparsityByLayer, topkMask, topkThreshold, type LayerSparsity } from "./sparsity.js";
export { contributionByLayer, outputEffect, skipEffectMatrix, type LayerContribution } from "./contribution.js";
export { countRouting, distinctiveExperts, expertUsage, routingCountsFromReports, type ExpertUsage, type LabelExpertScore, type RoutingCounts } from "./experts.js";
export {
  overwriteModules,
  patchModules,
  scaleModules,
  skipModules,
  topkModules,
  type OutputPatch,
  type PatchContext,
  type PatchHandle,
} from "./interventions.js";
export { lacSkipChain, measureSkipEffects, type LacSkipChain, type SkipEffects } from "./skipping.js";
export { influentialNeuronPath, selectNeuronPath, type NeuronPath, type NeuronPathOptions } from "./neuron-path.js";
export { TourTransformer, checkTourConfig, type TourTransformerConfig } from "./tour-model.js";
export { loadModelCheckpoint, modelFactoryNames, registerModelFactory, type ModelFactory } from "./checkpoint.js";
export { formatSummary, residualLayers, summarizeActivations, summarySvg, type ModuleSummary, type SummaryOptions } from "./report.js";
