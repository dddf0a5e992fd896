/**
 * Cut a recording into labelled windows by its annotations and export them to
 * Arrow for pandas:
 *
 *   npx tsx examples/windows_to_arrow.ts [recording.edf] [out.arrow]
 *   python -c "import pyarrow as pa; df = pa.ipc.open_file('out/windows.arrow').read_pandas(); print(df.groupby('label').size())"
 *
 * Prints one JSON object: the number of windows per label.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildTable, filterRecording, fixedSizeListColumn, gatherWindows, pick, planWindows, readRecording, resampleRecording, writeArrow } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const input = process.argv[2] ?? join(here, "data", "sample.edf");
const output = process.argv[3] ?? join(here, "..", "out", "windows.arrow");

const rec = resampleRecording(filterRecording(pick(readRecording(input), "eeg"), 0.5, 40), 128);
const windows = planWindows(rec, { length: 2, stride: 1, last: "drop", annotations: { "eyes open": "open", "eyes closed": "closed" } });
const length = 2 * rec.sfreq;
const table = buildTable(
  {
    label: windows.map((w) => w.mappedLabel!),
    start_time: Float64Array.from(windows, (w) => w.onset),
    data: fixedSizeListColumn(gatherWindows(windows, rec.channels.length, length), rec.channels.length * length),
  },
  { sfreq: String(rec.sfreq), shape: JSON.stringify([rec.channels.length, length]), channels: JSON.stringify(rec.channels.map((c) => c.name)) },
);
writeArrow(output, table);
const counts: Record<string, number> = {};
for (const w of windows) counts[w.mappedLabel!] = (counts[w.mappedLabel!] ?? 0) + 1;
console.log(JSON.stringify({ output, rows: table.numRows, counts }));
