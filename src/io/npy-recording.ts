import ndarray from "ndarray";
import { ConfigError, FormatError } from "../errors.js";
import { channelData, createRecording, nChannels, nSamples } from "../recording/recording.js";
import type { Recording } from "../recording/types.js";
import { writeFileAtomic } from "./atomic.js";
import { npyHeader, readNpy, writeNpy } from "./npy.js";
import type { ReadOptions, WriteOptions } from "./open.js";

/** Writes a Recording's data as float32 `[nChannels, nSamples]` in SI units. */
export function writeNpyRecording(path: string, rec: Recording, _opts: WriteOptions = {}): void {
  const nc = nChannels(rec);
  const ns = nSamples(rec);
  const contiguous = rec.data.stride[0] === ns && rec.data.offset === 0 && rec.data.data.length === nc * ns;
  if (contiguous) {
    writeNpy(path, rec.data.data, [nc, ns]);
    return;
  }
  // Rows of a strided view (a crop, an in-place resample) go out one by one, without a gathered copy.
  const rows = Array.from({ length: nc }, (_, i) => {
    const r = channelData(rec, i);
    return new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
  });
  writeFileAtomic(path, npyHeader("float32", [nc, ns]), ...rows);
}

/**
 * Reads a 2-D `.npy` array `[nChannels, nSamples]` as a Recording of `misc`
 * channels named `0`, `1`, ... A `.npy` file has no rate: pass `sfreq`.
 */
export function readNpyRecording(path: string, opts: ReadOptions = {}): Recording {
  const arr = readNpy(path);
  if (arr.shape.length !== 2) throw new FormatError({ path, field: "header.shape" }, `expected a 2-D [nChannels, nSamples] array, got shape [${arr.shape.join(", ")}]`);
  if (opts.sfreq === undefined) throw new ConfigError("sfreq", `${path}: a .npy file carries no sampling rate; give one (--sfreq)`);
  const [nc, ns] = arr.shape as [number, number];
  const data = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>, Number);
  return createRecording({
    data: ndarray(data, [nc, ns]),
    sfreq: opts.sfreq,
    channels: Array.from({ length: nc }, (_, i) => ({ name: String(i), kind: "misc" as const, unit: "", origUnit: "" })),
    source: { path, format: "npy" },
  });
}
