/**
 * The analysis cut off after a layer, for the bench's rows that show where the time
 * goes: the real modules stacked as analyzeCapture stacks them, ending in a sink that
 * only counts.
 *
 *   node dist/bench/layers.js transport FILE   frames → packet decoding, TCP reassembly
 *   node dist/bench/layers.js rpc FILE         … → record marking, RPC headers, XID matching
 *
 * `rpc` keeps the first MAX_RPC_HEADER_BYTES of each record, as `summary --json` does.
 */
import { eachFrame } from "../capture/open-capture.js";
import { DEFAULT_LIMITS } from "../capture/limits.js";
import { PacketDecoder } from "../capture/packet-decoder.js";
import type { TransportSink } from "../capture/transport.js";
import { MAX_RPC_HEADER_BYTES } from "../dissect/rpc-header.js";
import { RpcPipeline, type RpcSink } from "../dissect/rpc-pipeline.js";

const [layer, path] = process.argv.slice(2);
if ((layer !== "transport" && layer !== "rpc") || !path) {
  process.stderr.write("usage: layers transport|rpc FILE\n");
  process.exit(2);
}

let frames = 0;
let units = 0;
let bytes = 0;
let exchanges = 0;

const transportOnly: TransportSink = {
  udp(d) {
    units++;
    bytes += d.payload.length;
  },
  tcpData(chunk) {
    units++;
    bytes += chunk.bytes.length;
  },
  tcpClose() {},
  frameIssue() {},
};

const rpcCounter: RpcSink = {
  message(_msg, record) {
    units++;
    bytes += record.length;
  },
  // As `stats` and `summary --json` take them: where they lie, no view per record.
  messageAt(_msg, _data, start, end) {
    units++;
    bytes += end - start;
  },
  exchangeResolved() {
    exchanges++;
  },
  streamIssue() {},
};

const sink: TransportSink = layer === "rpc" ? new RpcPipeline(DEFAULT_LIMITS, rpcCounter, { recordPrefix: MAX_RPC_HEADER_BYTES }) : transportOnly;
const decoder = new PacketDecoder(DEFAULT_LIMITS, sink);
await eachFrame({ kind: "file", path }, { readOnThisThread: true }, (frame) => {
  frames++;
  decoder.push(frame);
});
decoder.finish();
if (sink instanceof RpcPipeline) sink.finish();
process.stdout.write(layer === "rpc"
  ? `${frames} frames, ${units} RPC messages (${bytes} bytes kept), ${exchanges} exchanges resolved\n`
  : `${frames} frames, ${units} UDP datagrams and TCP chunks (${bytes} bytes)\n`);
