/**
 * One live capture session, shared by `rpcscope capture` and the live TUI: opens
 * the interface and the -w file, feeds captured batches to analyzeCapture, writes
 * every packet (flushed after each batch, so a file cut by Ctrl-C, SIGTERM or even
 * SIGKILL holds every packet handed on so far as whole records), stops on a
 * count, a duration, a signal or a request, and writes the end-of-capture report.
 */
import { closeSync, openSync } from "node:fs";
import { fdSink, PcapngWriter, PcapWriter } from "../capture/capture-writer.js";
import { LinkType, type Frame } from "../capture/frame.js";
import {
  CAP_SNAPLEN, interfaceCounters, LiveCapture, type InterfaceCounters, type LiveCaptureStats,
} from "../capture/live-capture.js";
import type { RpcPipeline } from "../dissect/rpc-pipeline.js";
import type { LearnedPort } from "../dissect/learned-ports.js";
import type { Exchange, RpcMessage } from "../dissect/rpc-types.js";
import { analyzeCapture, InputError, type AnalyzeHandlers, type AnalyzeOptions, type AnalyzeResult } from "./analyze.js";

export interface LiveSettings {
  readonly device: string;
  /** BPF capture filter ("" for none). */
  readonly bpf: string;
  /** -w: a .pcapng path writes pcapng, anything else classic pcap (nanosecond). */
  readonly writePath: string | null;
  /** -c: stop after this many packets. */
  readonly maxPackets: number | null;
  /** --duration: stop after this many seconds. */
  readonly durationSeconds: number | null;
  /** -B: libpcap's kernel buffer in bytes (null: LiveCapture's default). */
  readonly bufferBytes?: number | null;
}

interface FrameWriter {
  write(frame: Frame): void;
  flush(): void;
  readonly written: number;
}

function openWriter(path: string, linkType: number, device: string): { writer: FrameWriter; close(): void } {
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new InputError(`${path}: cannot write the capture file (${code})`);
  }
  const sink = fdSink(fd);
  let writer: FrameWriter;
  if (/\.pcapng$/i.test(path)) {
    const w = new PcapngWriter(sink, { application: "rpcscope" });
    const iface = w.addInterface({ linkType, snaplen: CAP_SNAPLEN, tsResolution: 9, name: device });
    writer = {
      write: (f) => w.writeFrame(iface, f),
      flush: () => w.flush(),
      get written() {
        return w.framesWritten;
      },
    };
  } else {
    const w = new PcapWriter(sink, { linkType, snaplen: CAP_SNAPLEN, nanosecond: true });
    writer = {
      write: (f) => w.writeFrame(f),
      flush: () => w.flush(),
      get written() {
        return w.framesWritten;
      },
    };
  }
  // The header goes out at once: even a capture stopped before its first packet leaves a valid file.
  writer.flush();
  return {
    writer,
    close() {
      writer.flush();
      closeSync(fd);
    },
  };
}

export interface LiveReport {
  readonly stopReason: string;
  readonly capture: LiveCaptureStats;
  readonly written: number | null;
  readonly counters: { readonly before: InterfaceCounters; readonly after: InterfaceCounters } | null;
  readonly result: AnalyzeResult | null;
  readonly learnedPorts: readonly LearnedPort[];
}

export class LiveSession {
  private readonly file: { writer: FrameWriter; close(): void } | null;
  private readonly countersBefore: InterfaceCounters | null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pipeline: RpcPipeline | null = null;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];

  private constructor(readonly settings: LiveSettings, readonly capture: LiveCapture) {
    try {
      this.file = settings.writePath === null ? null : openWriter(settings.writePath, capture.linkType, settings.device);
    } catch (err) {
      capture.stop("error");
      throw err;
    }
    this.countersBefore = interfaceCounters(settings.device);
    if (settings.durationSeconds !== null) {
      this.timer = setTimeout(() => this.stop("duration"), settings.durationSeconds * 1000);
    }
  }

  /** Opens the interface (LiveCaptureError when it cannot) and the -w file (InputError). */
  static open(settings: LiveSettings): LiveSession {
    const capture = LiveCapture.open({
      device: settings.device,
      filter: settings.bpf,
      ...(settings.maxPackets !== null ? { maxPackets: settings.maxPackets } : {}),
      ...(settings.bufferBytes ? { bufferBytes: settings.bufferBytes } : {}),
    });
    if (!(Object.values(LinkType) as number[]).includes(capture.linkType)) {
      capture.stop("error");
      throw new InputError(`cannot analyse traffic on ${settings.device}: its link type (${capture.linkTypeName}) is not one rpcscope decodes`);
    }
    return new LiveSession(settings, capture);
  }

  /** Ctrl-C and SIGTERM stop the capture cleanly (the file is complete, the report is written). */
  stopOnSignals(onSignal?: (signal: NodeJS.Signals) => void): void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const handler = (): void => {
        this.stop(signal === "SIGINT" ? "interrupted" : "terminated");
        onSignal?.(signal);
      };
      process.on(signal, handler);
      this.signalHandlers.push([signal, handler]);
    }
  }

  stop(reason: string): void {
    this.capture.stop(reason);
  }

  /**
   * Runs the analysis until the capture stops. `afterBatch` runs once each batch
   * (or clock tick) has gone through the pipeline: the place to flush output.
   */
  async run(
    options: Omit<AnalyzeOptions, "frames" | "now">,
    handlers: AnalyzeHandlers,
    afterBatch: () => void,
  ): Promise<AnalyzeResult> {
    const capture = this.capture;
    const file = this.file;
    const self = this;
    async function* frames(): AsyncGenerator<Frame[]> {
      for await (const batch of capture.batches()) {
        if (file) {
          for (const f of batch) file.writer.write(f);
          if (batch.length > 0) file.writer.flush();
        }
        yield batch;
        afterBatch();
      }
    }
    try {
      return await analyzeCapture(
        { kind: "stdin" },
        {
          ...options,
          frames: frames(),
          now: () => capture.now(),
          configurePipeline(pipeline) {
            self.pipeline = pipeline;
            options.configurePipeline?.(pipeline);
          },
        },
        handlers,
      );
    } finally {
      this.close();
    }
  }

  private close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const [signal, handler] of this.signalHandlers) process.removeListener(signal, handler);
    this.signalHandlers.length = 0;
    this.capture.stop(this.capture.stopReason ?? "ended");
    this.file?.close();
  }

  report(result: AnalyzeResult | null): LiveReport {
    const after = interfaceCounters(this.settings.device);
    return {
      stopReason: this.capture.stopReason ?? "ended",
      capture: this.capture.stats(),
      written: this.file ? this.file.writer.written : null,
      counters: this.countersBefore && after ? { before: this.countersBefore, after } : null,
      result,
      learnedPorts: this.pipeline?.learnedPorts() ?? [],
    };
  }
}

const STOP_REASONS: Readonly<Record<string, string>> = {
  count: "-c packet count reached",
  duration: "--duration reached",
  interrupted: "interrupted (SIGINT)",
  terminated: "terminated (SIGTERM)",
  quit: "user quit",
  "output-closed": "standard output was closed",
};

/** The end-of-capture report, one line each (for stderr). */
export function formatLiveReport(device: string, writePath: string | null, r: LiveReport): string[] {
  const lines: string[] = [];
  const c = r.capture;
  lines.push(
    `capture on ${device} stopped (${STOP_REASONS[r.stopReason] ?? r.stopReason}): ${c.received} packets received` +
      (r.written !== null ? `, ${r.written} written to ${writePath}` : "") +
      `, ${c.queueDrops} dropped by rpcscope (analysis fell behind)` +
      (c.cutBySnaplen > 0 ? `, ${c.cutBySnaplen} cut at cap's 65535-byte snaplen` : ""),
  );
  if (r.counters) {
    const { before, after } = r.counters;
    lines.push(
      `libpcap's own received/dropped counts (pcap_stats) are not available through the cap binding; ` +
        `instead, the kernel's counters for ${device} during the capture (all its traffic, before the capture filter): ` +
        `rx ${after.rxPackets - before.rxPackets} packets (${after.rxDropped - before.rxDropped} dropped), ` +
        `tx ${after.txPackets - before.txPackets} packets (${after.txDropped - before.txDropped} dropped)`,
    );
  } else {
    lines.push(`libpcap's own received/dropped counts (pcap_stats) are not available through the cap binding, and ${device} has no kernel counters to compare with`);
  }
  if (r.result) {
    const k = r.result.counts;
    lines.push(
      `${k.messages} RPC messages (${k.calls} calls, ${k.replies} replies), ${k.exchanges} exchanges, ` +
        `${k.unmatchedCalls} unmatched calls, ${k.orphanReplies} orphan replies, ${k.retransmissions} retransmissions, ` +
        `${k.malformed} malformed, ${k.tcpGaps} TCP gaps`,
    );
  }
  if (r.learnedPorts.length > 0) {
    const shown = r.learnedPorts.slice(0, 20).map((p) => `${p.transport}/${p.port}`).join(", ");
    lines.push(`RPC ports learned from portmapper replies: ${shown}${r.learnedPorts.length > 20 ? `, … (${r.learnedPorts.length} in all)` : ""}`);
  }
  return lines;
}

/**
 * Output in live mode. Without a display filter each line is written the moment its
 * message is complete. A filter may select a call by its reply (status, rtt), so
 * with one a call's line waits for its exchange to resolve, at most `holdMs` of
 * wall-clock time (then it is judged on what is known), keeping frame order.
 */
export class LiveLines {
  private readonly queue: { msg: RpcMessage; render: () => string | null; deadline: number }[] = [];
  private head = 0;
  private readonly resolved = new WeakSet<Exchange>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly hold: boolean,
    private readonly holdMs = 1000,
  ) {}

  push(msg: RpcMessage, render: () => string | null): void {
    if (!this.hold) {
      const line = render();
      if (line !== null) this.write(line);
      return;
    }
    this.queue.push({ msg, render, deadline: Date.now() + this.holdMs });
    this.release(false);
  }

  exchangeResolved(ex: Exchange): void {
    if (!this.hold) return;
    this.resolved.add(ex);
    this.release(false);
  }

  /** Called after every batch and clock tick: lines whose wait is over go out. */
  tick(): void {
    if (this.hold) this.release(false);
  }

  finish(): void {
    if (this.hold) this.release(true);
  }

  private release(all: boolean): void {
    const now = Date.now();
    while (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      const ex = item.msg.exchange;
      const waiting = !all && item.msg.header?.kind === "call" && ex !== null && !this.resolved.has(ex) && item.deadline > now;
      if (waiting) break;
      const line = item.render();
      if (line !== null) this.write(line);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
