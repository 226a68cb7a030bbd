/** Runs a capture through the pipeline with the libvirt framing registered, collecting what comes out. */
import { readFrames } from "../../capture/open-capture.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import type { Limits } from "../../capture/limits.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { RpcPipeline, type RpcSink, type StreamIssue } from "../../dissect/rpc-pipeline.js";
import type { Exchange, LibvirtExchange, LibvirtMessage, RpcMessage } from "../../dissect/rpc-types.js";
import { registerLibvirt, type LibvirtCounts, type LibvirtOptions } from "../../dissect/libvirt/libvirt-framing.js";

export interface CapturedLibvirt {
  readonly msg: LibvirtMessage;
  /** A copy of the message bytes (the sink's view is valid only during the call). */
  readonly bytes: Uint8Array;
  readonly truncatedAt: number | null;
}

export interface CaptureRun {
  readonly libvirt: CapturedLibvirt[];
  readonly rpc: RpcMessage[];
  readonly resolved: LibvirtExchange[];
  readonly rpcResolved: Exchange[];
  readonly issues: StreamIssue[];
  readonly counts: LibvirtCounts;
  readonly pipelineCounts: ReturnType<RpcPipeline["counts"]>;
}

export async function runCapture(path: string, limits: Limits = DEFAULT_LIMITS, options: LibvirtOptions = {}): Promise<CaptureRun> {
  const libvirt: CapturedLibvirt[] = [];
  const rpc: RpcMessage[] = [];
  const resolved: LibvirtExchange[] = [];
  const rpcResolved: Exchange[] = [];
  const issues: StreamIssue[] = [];
  const sink: RpcSink = {
    message: (m) => rpc.push(m),
    exchangeResolved: (ex) => rpcResolved.push(ex),
    streamIssue: (e) => issues.push(e),
    libvirtMessage: (msg, bytes, truncatedAt) => libvirt.push({ msg, bytes: bytes.slice(), truncatedAt }),
    libvirtExchangeResolved: (ex) => resolved.push(ex),
  };
  const pipeline = new RpcPipeline(limits, sink);
  const framing = registerLibvirt(pipeline, options);
  const decoder = new PacketDecoder(limits, pipeline);
  for await (const frame of readFrames({ kind: "file", path })) decoder.push(frame);
  decoder.finish();
  pipeline.finish();
  return { libvirt, rpc, resolved, rpcResolved, issues, counts: framing.counts(), pipelineCounts: pipeline.counts() };
}
