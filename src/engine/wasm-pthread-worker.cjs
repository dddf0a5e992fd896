// One XNNPACK thread of the multi-threaded wasm backend (see wasm-threads.ts).
//
// Emscripten starts each pthread as `new Worker(<this file>)`. tfjs ships the
// pthread bootstrap only as a string meant for a browser Blob, so this file
// evaluates that string in the worker's global scope, the way a classic worker
// script runs. The bootstrap looks up `require` and `__filename` as globals.
"use strict";
const { wasmWorkerContents } = require("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js");

global.require = require;
global.__filename = __filename;
// The string came from a template literal, so its "\n" escapes are real newlines
// now, which would end the string literals they sit in; tfjs re-escapes them too.
(0, eval)(wasmWorkerContents.replace(/\n/g, "\\n"));
