/**
 * The one place the layers are wired together: capture source → frames →
 * transport events → RPC messages and exchanges → (optionally) decoded bodies.
 * Every view (summary, JSON, stats, diff, TUI) consumes this, so they agree.
 */
import { eachFrame, type CaptureSource } from "../capture/open-capture.js";
import { PacketDecoder } from "../capture/packet-decoder.js";
import { CaptureError, LinkType, secondsBetween, type Frame } from "../capture/frame.js";
import type { Limits } from "../capture/limits.js";
import { RpcPipeline, type StreamIssue } from "../dissect/rpc-pipeline.js";
import { NO_ISSUES, type Exchange, type LibvirtExchange, type RpcCall, type RpcMessage } from "../dissect/rpc-types.js";
import { registerLibvirt, type LibvirtCounts } from "../dissect/libvirt/index.js";
import { analyzeLibvirtMessage, type AnalyzedLibvirtMessage } from "./libvirt-format.js";
import type { Issue } from "../dissect/malformed.js";
import { detachDecoded, type DecodedField } from "../dissect/xdr-types.js";
import type { ProgramRegistry } from "../dissect/registry.js";

export interface AnalyzedMessage {
  readonly msg: RpcMessage;
  /** Seconds since the first frame of the capture. */
  readonly time: number;
  /**
   * Decoded call arguments (calls only, when bodies are decoded and the procedure
   * is known). Its opaque and string bytes are views into the record: keep it past
   * the handler call only through detachAnalyzed.
   */
  readonly args: DecodedField | null;
  /** Decoded results (replies matched to a known call with status SUCCESS); views too, as args. */
  readonly res: DecodedField | null;
  /** Problems found while decoding the body (malformed field, trailing bytes, unknown procedure). */
  readonly bodyIssues: readonly Issue[];
}

/** The message with its decoded bodies copied out of the record, to keep after the handler returns. */
export function detachAnalyzed(m: AnalyzedMessage): AnalyzedMessage {
  if (m.args === null && m.res === null) return m;
  return { ...m, args: m.args && detachDecoded(m.args), res: m.res && detachDecoded(m.res) };
}

export interface AnalyzeHandlers {
  /**
   * Every RPC message as soon as its last byte is seen (frame order). `record` is
   * valid only during the call; `truncatedAt`: where its captured bytes end when the
   * capture cut it short (snaplen), else null.
   */
  message?(m: AnalyzedMessage, record: Uint8Array, truncatedAt: number | null): void;
  /**
   * When given, called instead of message(): the record as [start, end) of `data`,
   * where it lies (no view is made for it unless a body is decoded), valid only during the call.
   */
  messageAt?(m: AnalyzedMessage, data: Uint8Array, start: number, end: number, truncatedAt: number | null): void;
  /** An exchange became final (reply seen, or call evicted / timed out / left unanswered at the end). */
  exchangeResolved?(ex: Exchange): void;
  /** Every libvirt message (its own framing, on 16509 or found by heuristic), in frame order. */
  libvirtMessage?(m: AnalyzedLibvirtMessage, bytes: Uint8Array): void;
  /** A libvirt call/reply exchange became final. */
  libvirtExchangeResolved?(ex: LibvirtExchange): void;
  /** Gaps, resyncs, frames that are not RPC, and other stream-level issues. */
  streamIssue?(issue: StreamIssue): void;
  /**
   * Every frame, before it is decoded (for writers and progress). The object is not
   * to be kept: copy what is needed.
   */
  frame?(frame: Frame): void;
}

export interface AnalyzeOptions {
  readonly limits: Limits;
  /** When given, bodies are decoded with it. */
  readonly registry: ProgramRegistry | null;
  readonly decodeBodies: boolean;
  /**
   * When bodies are not all decoded: decode these anyway (e.g. NFS calls, and the
   * replies the info text learns from). `call` is the call's header, for a reply too.
   */
  readonly decodeSome?: (call: RpcCall, kind: "call" | "reply") => boolean;
  /** When bodies are not all decoded: decode libvirt bodies anyway (the TUI shows an error reply's message). */
  readonly decodeLibvirtBodies?: boolean;
  /**
   * When bodies are decoded: ONC-RPC bodies left to the handler (which gets the
   * record and writes them its own way), e.g. `summary --json -V` writing JSON
   * straight from the bytes. Their args/res are null and bodyIssues empty.
   */
  readonly callerDecodes?: (call: RpcCall, kind: "call" | "reply") => boolean;
  readonly onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  /** Give the event loop a turn after each batch of frames (the TUI loads in the background). */
  readonly yieldBetweenBatches?: boolean;
  /**
   * Read ahead on libuv's thread (where an uncompressed file is otherwise read on
   * this thread, see eachFrame below).
   */
  readonly readAhead?: boolean;
  /** Bytes per read of an uncompressed capture file (open-capture's default when not given; gzip and stdin keep theirs). */
  readonly readChunkBytes?: number;
  /**
   * Consumers read no more than this many bytes of a record (headers, a status
   * word): longer records spanning segments are handed on cut there (see
   * PipelineOptions.recordPrefix). Only without body decoding.
   */
  readonly recordPrefix?: number;
  /** Extra framings (e.g. libvirt) to register on the pipeline. */
  readonly configurePipeline?: (pipeline: RpcPipeline) => void;
  /**
   * Frames from elsewhere (a live capture) instead of reading `source`. An empty
   * batch is a clock tick: no packets lately, but time goes on (see `now`).
   */
  readonly frames?: AsyncIterable<Frame[]>;
  /**
   * The capture clock, asked after every batch when given: flows and waiting calls
   * then time out by time even while no packets arrive, so a live capture can run
   * for days with flat memory.
   */
  readonly now?: () => { readonly tsSec: number; readonly tsNsec: number };
}

export interface AnalyzeResult {
  readonly frames: number;
  readonly counts: ReturnType<RpcPipeline["counts"]>;
  readonly libvirtCounts: LibvirtCounts;
  /** Set when the capture file ended in the middle of a packet or block. */
  readonly truncation: CaptureError | null;
}

const SUPPORTED_LINK_TYPES: ReadonlySet<number> = new Set(Object.values(LinkType));

/** Raised for conditions that make the whole input unusable (CLI exit status 2). */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export async function analyzeCapture(
  source: CaptureSource,
  options: AnalyzeOptions,
  handlers: AnalyzeHandlers,
): Promise<AnalyzeResult> {
  let t0Sec = 0;
  let t0Nsec = 0;
  let frames = 0;
  let truncation: CaptureError | null = null;
  const { registry, limits } = options;
  const decodeBodies = options.decodeBodies && registry !== null;
  const libvirtBodies = decodeBodies || (options.decodeLibvirtBodies === true && registry !== null);
  // Header-only runs (summary --json, stats) decode no body: nothing to work out per message.
  const mayDecode = decodeBodies || options.decodeSome !== undefined;

  const messageAt = (msg: RpcMessage, data: Uint8Array, start: number, end: number, truncatedAt: number | null): void => {
    if (!handlers.message && !handlers.messageAt) return;
    // A view of the record only when a body is decoded or the handler takes one.
    let record: Uint8Array | null = null;
    let args: DecodedField | null = null;
    let res: DecodedField | null = null;
    let bodyIssues: readonly Issue[] = NO_ISSUES;
    const header = msg.header;
    if (registry && header && mayDecode) {
      const callOf = header.kind === "call" ? header : msg.exchange?.call?.header;
      const wanted = decodeBodies
        ? !(callOf?.kind === "call" && options.callerDecodes?.(callOf, header.kind) === true)
        : callOf?.kind === "call" && options.decodeSome?.(callOf, header.kind) === true;
      if (wanted) {
        record = data.subarray(start, end);
        if (header.kind === "call") {
          const out = registry.decodeCall(header, record, limits, truncatedAt ?? undefined);
          args = out.args;
          bodyIssues = out.issues;
        } else if (callOf?.kind === "call") {
          const out = registry.decodeReply(callOf, header, record, limits, truncatedAt ?? undefined);
          res = out.res;
          bodyIssues = out.issues;
        }
      }
    }
    const time = secondsBetween(t0Sec, t0Nsec, msg.tsSec, msg.tsNsec);
    const m: AnalyzedMessage = { msg, time, args, res, bodyIssues };
    if (handlers.messageAt) handlers.messageAt(m, data, start, end, truncatedAt ?? null);
    else handlers.message!(m, record ?? data.subarray(start, end), truncatedAt ?? null);
  };
  const pipeline = new RpcPipeline(limits, {
    message(msg, record, truncatedAt) {
      messageAt(msg, record, 0, record.length, truncatedAt);
    },
    messageAt,
    exchangeResolved(ex) {
      handlers.exchangeResolved?.(ex);
    },
    libvirtMessage(msg, bytes, truncatedAt) {
      if (!handlers.libvirtMessage) return;
      const time = secondsBetween(t0Sec, t0Nsec, msg.tsSec, msg.tsNsec);
      handlers.libvirtMessage(analyzeLibvirtMessage(msg, bytes, truncatedAt, time, registry, limits, libvirtBodies), bytes);
    },
    libvirtExchangeResolved(ex) {
      handlers.libvirtExchangeResolved?.(ex);
    },
    streamIssue(issue) {
      handlers.streamIssue?.(issue);
    },
  }, {
    // A prefix only when no body is decoded (decodeSome decodes some).
    ...(options.recordPrefix !== undefined && !decodeBodies && !options.decodeSome ? { recordPrefix: options.recordPrefix } : {}),
  });
  const libvirt = registerLibvirt(pipeline);
  options.configurePipeline?.(pipeline);
  const decoder = new PacketDecoder(limits, pipeline);

  const readOptions = {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.readChunkBytes ? { fileChunkSize: options.readChunkBytes } : {}),
    onTruncated(err: CaptureError) {
      truncation = err;
    },
  };
  const onFrame = (frame: Frame): void => {
    if (frames === 0) {
      t0Sec = frame.tsSec;
      t0Nsec = frame.tsNsec;
      if (!SUPPORTED_LINK_TYPES.has(frame.linkType)) {
        throw new InputError(`unsupported link type ${frame.linkType} in frame 1`);
      }
    }
    frames++;
    handlers.frame?.(frame);
    decoder.push(frame);
  };
  const afterBatch = async (): Promise<void> => {
    if (options.now) {
      const t = options.now();
      decoder.advanceTime(t.tsSec, t.tsNsec);
      pipeline.advanceTime(t.tsSec, t.tsNsec);
    }
    if (options.yieldBetweenBatches) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  try {
    if (options.frames) {
      for await (const batch of options.frames) {
        for (const frame of batch) onFrame(frame);
        await afterBatch();
      }
    } else {
      // From a capture: frames one by one, with no list per batch (handlers.frame does not keep them).
      // A file is read on this thread, in pieces that stay in this core's cache
      // (open-capture.ts). The TUI's loading too: a piece of 128 KiB takes about 20 µs to
      // read from the page cache, and the event loop gets its turn after each piece
      // (loading 250,000 exchanges used 6.53 CPU seconds against 7.12, medians of five
      // alternated runs, and the loop waited 43–72 ms at most, against 55–103 ms in
      // eleven). A pipe or gzip file is read as a stream whatever is asked, so waiting
      // for a pipe's next bytes does not freeze the screen.
      const between = options.now || options.yieldBetweenBatches ? afterBatch : undefined;
      await eachFrame(source, options.readAhead ? readOptions : { ...readOptions, readOnThisThread: true }, onFrame, between);
    }
  } catch (err) {
    // A capture cut short still yields everything before the cut; report, don't discard.
    if (err instanceof CaptureError && frames > 0) truncation = err;
    else throw err;
  }
  decoder.finish();
  pipeline.finish();
  return { frames, counts: pipeline.counts(), libvirtCounts: libvirt.counts(), truncation };
}
