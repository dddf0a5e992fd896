import { FormatError } from "../errors.js";
import { PyDict, PyTensor, unpickle, type PyValue } from "./pickle.js";
import { decode, type TensorEntry } from "./safetensors.js";
import { ZipArchive } from "./zip.js";

const ITEM: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Keys under which training scripts commonly nest the model's state dict. */
const NESTED_KEYS = ["state_dict", "model_state_dict", "model", "module", "net"];

/**
 * Reads a PyTorch checkpoint (`torch.save` zip format, PyTorch ≥ 1.6) without
 * Python: the restricted pickle VM reads `<root>/data.pkl`, tensor storages are
 * `<root>/data/<key>`. Strided and offset views are gathered to contiguous
 * values. When the file holds a dict with a nested state dict (e.g.
 * `{"model": ..., "optimizer": ...}`), the nested one is used.
 */
export function readTorchCheckpoint(bytes: Uint8Array, path = "<buffer>"): { tensors: TensorEntry[]; metadata: Record<string, string> } {
  if (bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a && bytes[3] === 0x0a) {
    throw new FormatError({ path, field: "magic", offset: 0 }, "legacy (pre-1.6, non-zip) PyTorch format is not supported; re-save with a recent torch");
  }
  const zip = new ZipArchive(bytes, path);
  const pkl = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) throw new FormatError({ path, field: "data.pkl", offset: 0 }, `expected one <root>/data.pkl in the archive, found ${pkl.length}`);
  const root = pkl[0]!.slice(0, -"data.pkl".length);
  if (zip.entries.has(`${root}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${root}byteorder`)).trim();
    if (order !== "little") throw new FormatError({ path, field: "byteorder" }, `byte order "${order}" is not supported`);
  }
  const top = unpickle(zip.read(pkl[0]!), path);
  const sd = pickStateDict(top, path);
  const storages = new Map<string, Uint8Array>();
  const tensors: TensorEntry[] = [];
  for (const [name, t] of sd) {
    tensors.push({
      name,
      dtype: t.storage.dtype,
      shape: t.shape,
      read: () => {
        let raw = storages.get(t.storage.key);
        if (!raw) {
          raw = zip.read(`${root}data/${t.storage.key}`);
          storages.set(t.storage.key, raw);
        }
        return decode(gather(raw, t, name, path), t.storage.dtype, t.shape, { path, field: `tensors.${name}` });
      },
    });
  }
  return { tensors, metadata: { format: "pytorch" } };
}

function pickStateDict(top: PyValue, path: string): [string, PyTensor][] {
  const fail = (reason: string): FormatError => new FormatError({ path, field: "data.pkl" }, reason);
  if (!(top instanceof PyDict)) throw fail("the pickled object is not a dict of tensors");
  const tensorsOf = (d: PyDict): [string, PyTensor][] => [...d.map].filter((e): e is [string, PyTensor] => e[1] instanceof PyTensor && typeof e[0] === "string");
  const direct = tensorsOf(top);
  if (direct.length) return direct;
  for (const k of NESTED_KEYS) {
    const v = top.map.get(k);
    if (v instanceof PyDict && tensorsOf(v).length) return tensorsOf(v);
  }
  throw fail(`no tensors at the top level or under ${NESTED_KEYS.join("/")} (keys: ${[...top.map.keys()].join(", ")})`);
}

/** Bytes of the tensor's elements in row-major order, following its strides and storage offset. */
function gather(raw: Uint8Array, t: PyTensor, name: string, path: string): Uint8Array {
  const size = ITEM[t.storage.dtype]!;
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const fail = (reason: string): FormatError => new FormatError({ path, field: `tensors.${name}`, offset: t.offset * size }, reason);
  if (raw.length < t.storage.numel * size) throw fail(`storage ${t.storage.key} has ${raw.length} bytes, needs ${t.storage.numel * size}`);
  if (numel === 0) return new Uint8Array(0);
  if (t.stride.some((s) => s < 0)) throw fail("negative strides");
  const last = t.offset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i]!, 0);
  if (t.offset < 0 || last >= t.storage.numel) throw fail(`view reaches element ${last} of a ${t.storage.numel}-element storage`);
  let contiguous = true;
  for (let i = t.shape.length - 1, expect = 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expect) contiguous = false;
    expect *= t.shape[i]!;
  }
  if (contiguous) return raw.subarray(t.offset * size, (t.offset + numel) * size);
  const out = new Uint8Array(numel * size);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let n = 0; n < numel; n++) {
    let src = t.offset;
    for (let i = 0; i < idx.length; i++) src += idx[i]! * t.stride[i]!;
    out.set(raw.subarray(src * size, src * size + size), n * size);
    for (let i = idx.length - 1; i >= 0; i--) {
      if (++idx[i]! < t.shape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}
