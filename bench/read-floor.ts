/**
 * The benchmark's floor: read every frame of a capture with our reader, nothing else,
 * the way the CLI's analysis reads them (eachFrame on this thread: no object per frame).
 */
import { eachFrame } from "../capture/open-capture.js";

const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: read-floor FILE\n");
  process.exit(2);
}
let frames = 0;
let bytes = 0;
await eachFrame({ kind: "file", path }, { readOnThisThread: true }, (frame) => {
  frames++;
  bytes += frame.bytes.length;
});
process.stdout.write(`${frames} frames, ${bytes} captured bytes\n`);
