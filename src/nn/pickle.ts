import { FormatError } from "../errors.js";

/*
 * A restricted pickle reader for PyTorch state dicts. A pickle is a program:
 * the standard unpickler calls any importable function it names, so a
 * checkpoint from the internet can run code. This VM implements only the
 * opcodes `torch.save` emits for (dicts of) tensors and allows only the globals
 * a state dict needs; anything else is a FormatError, raised before anything
 * is called.
 */

/** A pickled tuple. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A pickled dict or `collections.OrderedDict` (insertion order kept). */
export class PyDict {
  readonly map = new Map<string | number, PyValue>();
  /** State set by BUILD (e.g. the `_metadata` of a state dict). */
  attrs: PyValue = null;
}

/** A whitelisted global (a function or class reference; never called by the VM itself). */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage reference from a persistent id: `archive/data/<key>` holding `numel` values of `dtype`. */
export class PyStorage {
  constructor(readonly key: string, readonly dtype: string, readonly numel: number) {}
}

/** A tensor view of a storage, as `torch._utils._rebuild_tensor_v2` describes it. */
export class PyTensor {
  constructor(readonly storage: PyStorage, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

/** Values the restricted VM can produce. */
export type PyValue = null | boolean | number | string | PyValue[] | PyTuple | PyDict | PyGlobal | PyStorage | PyTensor;

/** Storage classes and the safetensors dtype names of their elements. */
export const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: "F32",
  DoubleStorage: "F64",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

const REBUILD = new Set(["torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"]);

function allowedGlobal(module: string, name: string): boolean {
  if (module === "collections" && name === "OrderedDict") return true;
  if (module === "torch" && name in STORAGE_DTYPES) return true;
  return REBUILD.has(`${module}.${name}`);
}

const MARK = Symbol("mark");
type Slot = PyValue | typeof MARK;

/**
 * Runs the restricted VM over `bytes` (a `data.pkl`) and returns the top-level object.
 * @param path used in error messages
 */
export function unpickle(bytes: Uint8Array, path = "<pickle>"): PyValue {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Slot[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let opAt = 0;
  const fail = (reason: string): FormatError => new FormatError({ path, field: "data.pkl", offset: opAt }, reason);
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw fail("pickle truncated");
  };
  const u8 = (): number => (need(1), bytes[pos++]!);
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const text = (n: number): string => {
    need(n);
    const s = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail("unterminated line");
    const s = new TextDecoder().decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw fail("stack underflow");
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw fail("stack underflow");
    return v;
  };
  const popMark = (): PyValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw fail("no MARK on the stack");
    const items = stack.splice(i) as PyValue[];
    items.shift();
    return items;
  };
  const setItem = (d: PyValue, k: PyValue, v: PyValue): void => {
    if (!(d instanceof PyDict)) throw fail("SETITEM on a non-dict");
    if (typeof k !== "string" && typeof k !== "number") throw fail("dict key is not a string or integer");
    d.map.set(k, v);
  };
  const int = (v: PyValue, what: string): number => {
    if (typeof v !== "number" || !Number.isInteger(v)) throw fail(`${what} is not an integer`);
    return v;
  };
  const intTuple = (v: PyValue, what: string): number[] => {
    if (!(v instanceof PyTuple)) throw fail(`${what} is not a tuple`);
    return v.items.map((x) => int(x, what));
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        need(8);
        pos += 8;
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(dv.getUint16(pos, true));
        pos += 2;
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[pos + i]!);
        if (n > 0 && bytes[pos + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        pos += n;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw fail(`integer ${v} too large`);
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw fail(`memo key ${k} not set`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) throw fail("odd number of SETITEMS values");
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i]!, items[i + 1]!);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw fail("APPEND to a non-list");
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw fail("APPENDS to a non-list");
        l.push(...items);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        if (!allowedGlobal(module, name)) throw fail(`global ${module}.${name} is not allowed in a state dict (refusing to load untrusted code)`);
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") throw fail("STACK_GLOBAL needs two strings");
        if (!allowedGlobal(module, name)) throw fail(`global ${module}.${name} is not allowed in a state dict (refusing to load untrusted code)`);
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!(pid instanceof PyTuple) || pid.items[0] !== "storage" || pid.items.length !== 5) throw fail("persistent id is not a ('storage', type, key, location, numel) tuple");
        const [, type, key, , numel] = pid.items;
        if (!(type instanceof PyGlobal) || type.module !== "torch" || !(type.name in STORAGE_DTYPES)) throw fail("persistent id names an unknown storage type");
        if (typeof key !== "string" || !/^[\w.-]+$/.test(key)) throw fail("storage key is not a plain name");
        stack.push(new PyStorage(key, STORAGE_DTYPES[type.name]!, int(numel, "storage numel")));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal) || !(args instanceof PyTuple)) throw fail("REDUCE needs a global and an argument tuple");
        const a = args.items;
        if (fn.qualified === "collections.OrderedDict") {
          if (a.length) throw fail("OrderedDict called with arguments");
          stack.push(new PyDict());
        } else if (fn.qualified === "torch._utils._rebuild_tensor_v2") {
          const [storage, offset, size, stride] = a;
          if (!(storage instanceof PyStorage)) throw fail("_rebuild_tensor_v2 without a storage");
          const shape = intTuple(size!, "tensor size");
          const strides = intTuple(stride!, "tensor stride");
          if (shape.length !== strides.length) throw fail("tensor size and stride differ in length");
          stack.push(new PyTensor(storage, int(offset!, "storage offset"), shape, strides));
        } else if (REBUILD.has(fn.qualified)) {
          // _rebuild_parameter(data, requires_grad, hooks[, state]): the tensor is what matters.
          if (!(a[0] instanceof PyTensor)) throw fail(`${fn.name} without a tensor`);
          stack.push(a[0]);
        } else throw fail(`${fn.qualified} cannot be called`);
        break;
      }
      case 0x62: {
        // BUILD: only the attribute state of an (Ordered)dict, e.g. a state dict's _metadata.
        const state = pop();
        const target = top();
        if (!(target instanceof PyDict) || !(state === null || state instanceof PyDict)) throw fail("BUILD is only allowed on dicts");
        target.attrs = state;
        break;
      }
      default:
        throw fail(`pickle opcode 0x${op.toString(16).padStart(2, "0")} is not allowed in a state dict`);
    }
  }
}
