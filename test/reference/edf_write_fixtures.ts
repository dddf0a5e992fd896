// Writes the neurocode fixtures of test/io/edf/fixtures.ts into a folder, for edf_goldens.py to read with MNE.
// Usage: npx tsx test/reference/edf_write_fixtures.ts OUTDIR
import { join } from "node:path";
import { writeEdf } from "../../src/io/edf/writer.js";
import { WRITTEN_FIXTURES } from "../io/edf/fixtures.js";

const out = process.argv[2];
if (!out) throw new Error("usage: edf_write_fixtures.ts OUTDIR");
for (const f of WRITTEN_FIXTURES) writeEdf(join(out, f.file), f.make());
