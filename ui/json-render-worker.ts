/**
 * The render thread of `summary --json -V` (see render-ring.ts). Its modules are
 * loaded inside the try, so that even a failure to load them is reported to the
 * main thread, which would otherwise wait for slots that are never freed.
 */
import { workerData } from "node:worker_threads";
import type { RenderWorkerData } from "./render-ring.js";

const shared = workerData as RenderWorkerData;
// Running: the main thread no longer gives this thread up for not starting.
Atomics.store(new Int32Array(shared.control), shared.startedWord, 1);
let finished = false;

/**
 * Every control word non-zero, the failure flag among them: the main thread stops
 * waiting for a free slot and reports the failure (render-ring.ts needs no loading for it).
 */
function fail(): void {
  const control = new Int32Array(shared.control);
  // Every word first, then the wake-ups: a waiter must find the failure flag set.
  for (let i = 0; i < control.length; i++) Atomics.store(control, i, -2);
  for (let i = 0; i < control.length; i++) Atomics.notify(control, i);
}

// An end the catch below does not see (process.exit in some module) must not leave the main thread waiting.
process.on("exit", () => {
  if (!finished) fail();
});

try {
  const { renderSlots } = await import("./render-ring.js");
  renderSlots(shared);
  finished = true;
  shared.types.close();
  shared.errors.close();
} catch (err) {
  // Said by the main thread, which reports the failure (one message, as an error there would be).
  shared.errors.postMessage(err instanceof Error ? err.stack ?? err.message : String(err));
  fail();
  finished = true;
  process.exitCode = 1;
}
