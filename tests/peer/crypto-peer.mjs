// Reference crypto for Doorman's Olm and Megolm tests (tests/Doorman.Matrix.Tests/Support/CryptoPeer.cs):
// libolm (@matrix-org/olm) and matrix-sdk-crypto-wasm (vodozemac and matrix-sdk-crypto, Element's own stack).
//
// Protocol: one JSON request per line on stdin, {"id": 7, "op": "olm.createAccount", ...arguments}; one JSON line
// per request on stdout, {"id": 7, "ok": true, "result": ...} or {"id": 7, "ok": false, "error": "..."}. Requests
// are handled one at a time, in order. Objects that live across requests (accounts, sessions) are kept here and
// named by handles the results carry. The operations are in crypto/*.mjs, each exporting `ops`.

import { readdirSync } from "node:fs";
import { createInterface } from "node:readline";

for (const method of ["log", "info", "debug", "warn", "trace"]) {
  console[method] = (...args) => console.error(...args);
}

const Olm = (await import("@matrix-org/olm")).default;
await Olm.init();

let wasm = null;
const context = {
  Olm,
  /** matrix-sdk-crypto-wasm, loaded on first use (it takes a moment). */
  async wasm() {
    if (wasm === null) {
      wasm = await import("@matrix-org/matrix-sdk-crypto-wasm");
      await wasm.initAsync();
    }
    return wasm;
  },
  handles: new Map(),
  nextHandle: 1,
  keep(object) {
    const handle = `h${this.nextHandle++}`;
    this.handles.set(handle, object);
    return handle;
  },
  get(handle) {
    const object = this.handles.get(handle);
    if (object === undefined) throw new Error(`no object with handle ${handle}`);
    return object;
  },
};

const ops = {};
const folder = new URL("crypto/", import.meta.url);
for (const file of readdirSync(folder).filter((f) => f.endsWith(".mjs")).sort()) {
  Object.assign(ops, (await import(new URL(file, folder))).ops);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "") continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: null, ok: false, error: `not JSON: ${e.message}` }) + "\n");
    continue;
  }
  const { id, op, ...args } = request;
  try {
    if (!(op in ops)) throw new Error(`unknown op ${op}`);
    const result = await ops[op](args, context);
    process.stdout.write(JSON.stringify({ id, ok: true, result: result ?? null }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ id, ok: false, error: String(e?.message ?? e) }) + "\n");
  }
}
