/**
 * Regenerates the montage files in this folder from the position files MNE
 * ships (copied to `shared/data/montages/`), the way MNE 1.3's
 * `make_standard_montage` reads them. Run from the project root:
 *
 *   npx tsx sensors/convert-montages.ts ../shared/data/montages
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatMontage, SENSORS_DIR, type Montage } from "../src/sensors/montage.js";
import { montageFromElc, montageFromSfp, montageFromThetaPhi } from "../src/sensors/montage-sources.js";

const src = process.argv[2] ?? join(SENSORS_DIR, "..", "..", "shared", "data", "montages");
const read = (f: string) => readFileSync(join(src, f), "utf8");

const montages: [Montage, string][] = [
  [montageFromElc(read("standard_1020.elc"), "standard_1020"), "standard_1020.elc"],
  [montageFromElc(read("standard_1005.elc"), "standard_1005"), "standard_1005.elc"],
  [montageFromElc(read("mgh60.elc"), "mgh60"), "mgh60.elc"],
  [montageFromThetaPhi(read("biosemi32.txt"), "biosemi32"), "biosemi32.txt"],
  [montageFromThetaPhi(read("biosemi64.txt"), "biosemi64"), "biosemi64.txt"],
  [montageFromThetaPhi(read("biosemi128.txt"), "biosemi128"), "biosemi128.txt"],
  [montageFromThetaPhi(read("easycap-M1.txt"), "easycap-M1", { addFiducials: true }), "easycap-M1.txt"],
  [montageFromSfp(read("GSN-HydroCel-129.sfp"), "GSN-HydroCel-129"), "GSN-HydroCel-129.sfp"],
];

for (const [m, file] of montages) {
  const text = formatMontage(m, [
    `${m.name}: ${m.labels.length} electrodes, metres, frame "${m.frame}" (as MNE's make_standard_montage("${m.name}")).`,
    `Converted by sensors/convert-montages.ts from MNE-Python's ${file} (BSD-3-Clause, Copyright 2011-2025 MNE-Python authors).`,
  ]);
  writeFileSync(join(SENSORS_DIR, `${m.name}.txt`), text);
  console.log(`${m.name}: ${m.labels.length} electrodes`);
}
