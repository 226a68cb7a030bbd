/**
 * The render thread of `summary --json -V` (see render-ring.ts). Its modules are
 * loaded inside the try, so that even a failure to load them is reported to the
 * main thread, which would otherwise wait for slots that are never freed.
 */
import { writeSync } from "node:fs";
import { workerData } from "node:worker_threads";
import type { RenderWorkerData } from "./render-ring.js";

const shared = workerData as RenderWorkerData;
try {
  const { renderSlots } = await import("./render-ring.js");
  renderSlots(shared);
  shared.types.close();
} catch (err) {
  try {
    writeSync(2, `rpcscope: internal error in the JSON render thread: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  } finally {
    // Every control word non-zero, the failure flag among them: the main thread stops
    // waiting for a free slot and reports the failure (render-ring.ts needs no loading for it).
    const control = new Int32Array(shared.control);
    for (let i = 0; i < control.length; i++) {
      Atomics.store(control, i, -2);
      Atomics.notify(control, i);
    }
  }
  process.exitCode = 1;
}
