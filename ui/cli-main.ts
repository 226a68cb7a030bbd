/**
 * rpcscope command line. Subcommands share one option parser and one analysis
 * pipeline (ui/analyze.ts). Usage errors and unusable input: one line on stderr,
 * exit status 2, never a stack trace.
 */
import { parseArgs } from "node:util";
import { CaptureError } from "../capture/frame.js";
import { SchemaError } from "../dissect/xdr/schema-error.js";
import { DEFAULT_LIMITS } from "../capture/limits.js";
import { analyzeCapture, detachAnalyzed, InputError, type AnalyzedMessage } from "./analyze.js";
import { COMMON_OPTIONS, commonOptions, registryFor, sourceFor, UsageError, type CommonOptions } from "./cli-options.js";
import { GrowingPieces, LineBuilder, LineWriter } from "./line-writer.js";
import { writeBodyJson, writeJsonString } from "./body-json.js";
import { OrderedOutput } from "./ordered-output.js";
import {
  jsonLineParts, jsonLineStartMaxBytes, LineCache, newJsonLineParts, summaryJson, summaryJsonLine, summaryLine, writeJsonLine as writeJsonLineParts, writeSummaryText,
} from "./summary-format.js";
import { escapeForTerminal, jsonSafeStringify } from "./text-safety.js";
import { FilterError } from "./filter/lexer.js";
import { filterHelp, type NameLookup } from "./filter/fields.js";
import { StatsCollector, formatStatsText, statsToJson } from "./stats.js";
import { namesFor } from "./names.js";
import { BodyStatusReader } from "./body-status.js";
import { writeTreeLines } from "./tree-text.js";
import { checkXdrJson, writeXdrJson } from "./xdr-json.js";
import { RenderThreadWriter, WRITE_HELD_BODY } from "./render-ring.js";
import type { ProgramRegistry } from "../dissect/registry.js";
import { infoNeedsBody, MessageInfoContext, nfs3FactsCall, nfs3ReplyFactsCall, statusWordCall } from "./message-info.js";
import { MAX_RPC_HEADER_BYTES } from "../dissect/rpc-header.js";
import { csvBodyStatus, csvBodyStatusCell, csvHeader, statsToCsv, summaryCsvRow } from "./csv.js";
import {
  detachLibvirt, libvirtCsvRow, libvirtDetailLines, libvirtFilterBodies, libvirtFilterSubject, libvirtSummaryJson, libvirtSummaryLine,
} from "./libvirt-format.js";
import type { LibvirtExchange, RpcCall } from "../dissect/rpc-types.js";
import type { DecodedField, XdrType } from "../dissect/xdr-types.js";

export const USAGE = `rpcscope — ONC-RPC (SunRPC) and XDR analyzer

Usage:
  rpcscope [FILE]                     terminal UI on a capture (summary when stdout is not a terminal)
  rpcscope summary FILE|- [options]   one line per RPC message, then the totals
  rpcscope stats FILE [--json|--csv]  per program/procedure: calls, errors, response times
                                      (p50/p95/p99), per conversation and per client
  rpcscope diff BASE NEW [options]    what changed between two captures (exit 1 on regressions)
  rpcscope write -Y EXPR IN OUT       save the packets of matching exchanges (pcap/pcapng)
  rpcscope capture -i IFACE [...]     live capture, printed as messages complete
  rpcscope -i IFACE                   terminal UI on a live capture
  rpcscope interfaces                 devices that can be captured on
  (each subcommand has its own --help)

FILE is a pcap or pcapng capture, optionally gzip-compressed; '-' reads standard input
(e.g. tcpdump -i lo -w - | rpcscope summary -).

Options:
  -Y, --filter EXPR      display filter, e.g. 'prog == nfs && proc == READ && rtt > 5ms',
                         'status != SUCCESS', 'res.status == NFS3ERR_NOENT', 'op == READ'
  --json                 NDJSON: one object per RPC message (see README for the keys)
  --csv                  CSV (summary and stats)
  -V, --verbose          decode every call's arguments and reply's results (tree lines,
                         or args/res in --json)
  --spec FILE.x          load an rpcgen .x specification (repeatable); overrides built-ins
  --define NAME=VALUE    a constant the .x files use but do not define (repeatable)
  --limit NAME=VALUE     change a resource limit, e.g. --limit maxRecordBytes=1048576
                         (names: ${Object.keys(DEFAULT_LIMITS).join(", ")})
  -h, --help             this help

Environment:
  RPCSCOPE_SPEC_PATH     colon-separated directories whose *.x files are loaded as specs

Exit status: 0 success, 2 bad usage or unusable input.`;

/**
 * Messages after which `summary --json -V` starts its render thread: a thread costs
 * about 40 ms and 12–20 MB, which only a larger capture pays back.
 */
const RENDER_THREAD_AFTER_MESSAGES = 20_000;

/** Bytes of the capture file that must still be to read for the render thread to start (see worthAThread). */
const RENDER_THREAD_MIN_BYTES_LEFT = 256 * 1024 * 1024;

/** Where the decoded tree lines of `summary -V` start. */
const TREE_INDENT = "          ";

/** A message held for its JSON line, with its bodies (and info) already written as JSON. */
class JsonWithBodies {
  constructor(
    readonly m: AnalyzedMessage,
    readonly tail: Uint8Array | null,
  ) {}
}

async function runSummary(file: string, opts: CommonOptions): Promise<number> {
  const registry = await registryFor(opts);
  const names = namesFor(registry);
  const filter = opts.filter;
  // `summary --json -V`: once a run is long enough to be worth it, a second thread writes
  // the lines (from their parts) and the clean bodies as JSON, and then all output
  // (render-ring.ts). Without -V it would not pay: making a line's parts and handing them
  // over costs the main thread about what writing the line does. For tests and
  // measurements: RPCSCOPE_RENDER_THREAD=off keeps it all on one thread, =N starts the
  // thread after N messages (0: at once); RPCSCOPE_RENDER_SLOT_BYTES sets its slots' size.
  const threadSetting = process.env["RPCSCOPE_RENDER_THREAD"] ?? "";
  const startAfter = /^\d+$/.test(threadSetting) ? Number(threadSetting) : RENDER_THREAD_AFTER_MESSAGES;
  const slotBytes = Number(process.env["RPCSCOPE_RENDER_SLOT_BYTES"]);
  const renderThread = opts.json && opts.verbose && !filter && threadSetting !== "off"
    ? new RenderThreadWriter(opts.limits, slotBytes > 0 ? { slotBytes } : {})
    : null;
  try {
    return await summarize(file, opts, registry, names, renderThread, startAfter, /^\d+$/.test(threadSetting));
  } finally {
    renderThread?.abort();
  }
}

async function summarize(
  file: string, opts: CommonOptions, registry: ProgramRegistry, names: NameLookup, renderThread: RenderThreadWriter | null,
  startRenderThreadAfter: number, startRenderThreadForced: boolean,
): Promise<number> {
  const out = renderThread ?? new LineWriter(1);
  const filter = opts.filter;
  // Lines are held until their exchange is resolved when the output needs the other
  // side: JSON (peerFrame) and filters (a call line may be selected by its reply's status).
  // A held item is a message to write as the fast JSON line, or a function giving its text.
  // A held item is a message to write as the fast JSON line (with its -V bodies already
  // written as JSON bytes), or a function giving its text.
  const ordered = opts.json || opts.csv || filter
    ? new OrderedOutput<AnalyzedMessage | JsonWithBodies | (() => string | null)>((item) => {
        if (typeof item === "function") {
          const text = item();
          if (text !== null) out.line(text);
        } else if (item instanceof JsonWithBodies) {
          writeJsonLine(item.m, item.tail);
          if (item.tail) bodies.recycle(item.tail);
        } else {
          writeJsonLine(item, null);
        }
      })
    : null;
  // The CSV's body_status column needs the decoded results.
  const decodeBodies = opts.verbose || opts.csv || (filter?.needsBody ?? false);
  if (opts.csv) out.line(csvHeader());
  const cache = new LineCache(names);
  // NFS file names and COMPOUND operations for the text line (and `info` in JSON with -V):
  // learned in frame order as messages arrive, from decoded NFS/MOUNT bodies.
  const withInfo = !opts.csv && (!opts.json || opts.verbose);
  const infoCtx = withInfo ? new MessageInfoContext() : null;
  // The info text needs NFS calls decoded, but of the replies only those it learns
  // from (LOOKUP…): for the rest (READ, GETATTR…) a status word read from the bytes
  // does, which spares decoding most of the bytes of a capture.
  const fastJson = opts.json && !filter;
  // `summary --json -V`: bodies the info text does not need are written as JSON straight
  // from their bytes (see writeXdrJson), not decoded into a tree first.
  const directJson = fastJson && opts.verbose;
  const statusReader = infoCtx && (!decodeBodies || directJson) && registry ? new BodyStatusReader(registry) : null;
  // The text summary and `--json -V` read what the info text needs of the most common
  // NFSv3 calls (a handle, an offset, a count) from their bytes, without decoding them
  // (`--json -V` writes their arguments as JSON straight from the bytes too); a call
  // that is anything but clean is decoded after all, with what is wrong with it.
  const factsRegistry = infoCtx && !filter && ((!opts.json && !decodeBodies) || directJson) ? registry : null;
  const readsFacts = (call: RpcCall): boolean => factsRegistry !== null && nfs3FactsCall(call, factsRegistry);
  const readsReplyFacts = (call: RpcCall): boolean => factsRegistry !== null && nfs3ReplyFactsCall(call, factsRegistry);
  const readsAsFacts = (call: RpcCall, kind: "call" | "reply"): boolean => kind === "call" ? readsFacts(call) : readsReplyFacts(call);

  /** The body status of a reply whose results were not decoded for the info text; undefined otherwise. */
  const undecodedReplyStatus = (m: AnalyzedMessage, record: Uint8Array): string | null | undefined => {
    const h = m.msg.header;
    if (!statusReader || h?.kind !== "reply") return undefined;
    const call = statusWordCall(m);
    return call ? statusReader.read(call, h, record) : undefined;
  };
  const bodies = new GrowingPieces();
  const writeJsonLine = (m: AnalyzedMessage, tail: Uint8Array | null): void => {
    // The parts once (each cached piece looked up once), for the size and the writing.
    const parts = jsonLineParts(m, cache, lineParts);
    if (renderThread?.started && renderThread.jsonLine(parts, tail)) return;
    const max = jsonLineStartMaxBytes(parts) + (tail?.length ?? 0);
    if (out.reserve(max)) {
      writeJsonLineParts(parts, out, tail);
      out.endLine();
    } else {
      const line = new LineBuilder(max);
      writeJsonLineParts(parts, line, tail);
      out.line(line.text());
    }
  };
  const writeTree = (key: string, field: DecodedField | null): void => {
    if (!field) return;
    bodies.room(key.length);
    bodies.ascii(key);
    writeBodyJson(bodies, field.value);
  };
  /** Bytes of the body bodiesJson handed to the render thread, if it did. */
  let heldBytes = 0;
  /** Messages seen before the render thread is started. */
  let messagesSeen = 0;
  /** Bytes of the file still to read (null: not known, as for standard input). */
  let bytesLeft: number | null = null;
  /**
   * The thread costs a fixed 0.1–0.2 s (it starts cold, and the main thread waits for
   * its first slots), which only a long run pays back: it is started when at least
   * RENDER_THREAD_MIN_BYTES_LEFT of the file are still to come (or when a test asks).
   */
  const worthAThread = (): boolean => startRenderThreadForced || (bytesLeft !== null && bytesLeft >= RENDER_THREAD_MIN_BYTES_LEFT);
  const lineParts = newJsonLineParts();
  // `summary --csv` (no filter): of a body a row needs only what is wrong with it and
  // the results' status. A body that checks clean (checkXdrJson, as `--json -V` writes
  // one from its bytes) has nothing wrong, and its status is a word read from the bytes;
  // only the rest is decoded, as the analyzer would have. Without this, decoding every
  // body, and copying the trees out of the record until the row was due, took 60% of
  // such a run.
  const csvStatus = opts.csv && !filter ? new BodyStatusReader(registry) : null;
  const csvBodies = (m: AnalyzedMessage, record: Uint8Array, truncatedAt: number | null): { kept: AnalyzedMessage; bodyStatus: string } => {
    const h = m.msg.header;
    const call = h?.kind === "call" ? h : m.msg.exchange?.call?.header;
    if (!h || call?.kind !== "call") return { kept: m, bodyStatus: "" };
    const clean = (type: XdrType | null): boolean =>
      type !== null && truncatedAt === null && checkXdrJson(type, record, h.bodyOffset, opts.limits);
    if (h.kind === "call") {
      if (clean(registry.argumentsTypeOf(h))) return { kept: m, bodyStatus: "" };
      const d = registry.decodeCall(h, record, opts.limits, truncatedAt ?? undefined);
      return { kept: d.issues.length ? { ...m, bodyIssues: d.issues } : m, bodyStatus: "" };
    }
    if (h.status === "SUCCESS" && clean(registry.resultTypeOf(call))) {
      const status = csvStatus!.status(call, h, record);
      if (status !== undefined) return { kept: m, bodyStatus: status ? csvBodyStatusCell(status.name, status.value) : "" };
    }
    const d = registry.decodeReply(call, h, record, opts.limits, truncatedAt ?? undefined);
    const decoded: AnalyzedMessage = { ...m, res: d.res, bodyIssues: d.issues };
    return { kept: d.issues.length ? { ...m, bodyIssues: d.issues } : m, bodyStatus: csvBodyStatus(decoded) };
  };
  /**
   * A body as JSON straight from its bytes: false (nothing written) unless it is
   * complete and clean. With the render thread, a body is handed over once checked
   * clean here, and the tail says where it goes.
   */
  const writeDirect = (key: string, call: RpcCall, kind: "args" | "res", record: Uint8Array, start: number, truncatedAt: number | null): boolean => {
    const type = kind === "args" ? registry.argumentsTypeOf(call) : registry.resultTypeOf(call);
    if (type === null || truncatedAt !== null) return false;
    if (renderThread?.started) {
      if (!checkXdrJson(type, record, start, opts.limits)) return false;
      renderThread.holdBody(type, record.subarray(start));
      bodies.room(key.length + WRITE_HELD_BODY.length);
      bodies.ascii(key);
      bodies.bytes(WRITE_HELD_BODY);
      heldBytes = record.length - start;
      return true;
    }
    const mark = bodies.length;
    bodies.room(key.length);
    bodies.ascii(key);
    if (writeXdrJson(bodies, type, record, start, opts.limits)) return true;
    bodies.truncate(mark);
    return false;
  };
  /**
   * Writes the message's bodies as JSON and returns the message as decoding gives it:
   * a body the analyzer did not decode is written from its bytes when it is clean,
   * else decoded here (which finds and locates what is wrong with it).
   */
  const writeBodies = (m: AnalyzedMessage, record: Uint8Array, truncatedAt: number | null): AnalyzedMessage => {
    const h = m.msg.header;
    const call = h?.kind === "call" ? h : m.msg.exchange?.call?.header;
    // Bodies decoded for the info text are written from their trees; those read as facts (left null) from their bytes.
    const fromBytes = (h?.kind === "call" && m.args === null && readsFacts(h)) ||
      (h?.kind === "reply" && m.res === null && call?.kind === "call" && readsReplyFacts(call));
    if (!directJson || !registry || !h || call?.kind !== "call" || (infoNeedsBody(call, h.kind) && !fromBytes)) {
      writeTree(',"args":', m.args);
      writeTree(',"res":', m.res);
      return m;
    }
    if (h.kind === "call") {
      if (writeDirect(',"args":', h, "args", record, h.bodyOffset, truncatedAt)) return m;
      const d = registry.decodeCall(h, record, opts.limits, truncatedAt ?? undefined);
      writeTree(',"args":', d.args);
      return { ...m, args: d.args, bodyIssues: d.issues };
    }
    if (h.status === "SUCCESS" && writeDirect(',"res":', call, "res", record, h.bodyOffset, truncatedAt)) return m;
    const d = registry.decodeReply(call, h, record, opts.limits, truncatedAt ?? undefined);
    writeTree(',"res":', d.res);
    return { ...m, res: d.res, bodyIssues: d.issues };
  };
  /**
   * `,"args":…,"res":…,"info":…` as -V adds them to a JSON line, written now (the
   * record is valid now), with the message as decoding gives it.
   */
  const bodiesJson = (m: AnalyzedMessage, record: Uint8Array, truncatedAt: number | null, info: string): JsonWithBodies => {
    // Opaque data doubles as hex; room for that at once spares growing step by step.
    if (!renderThread?.started) bodies.room(m.msg.length * 2 + 256);
    heldBytes = 0;
    const decoded = writeBodies(m, record, truncatedAt);
    if (info) {
      bodies.room(8);
      bodies.ascii(',"info":');
      writeJsonString(bodies, info);
    }
    return new JsonWithBodies(decoded, bodies.length > 0 ? bodies.take() : null);
  };
  /** A text line (and -V tree lines) straight out, no array of lines and no joined text; null (written already). */
  const writeText = (m: AnalyzedMessage, info: string): null => {
    const parts = cache.textLineParts(m, info);
    if (parts && out.reserve(parts.maxBytes)) {
      writeSummaryText(m, parts, out);
      out.endLine();
    } else {
      out.line(summaryLine(m, names, info, cache));
    }
    if (opts.verbose) {
      if (m.args) writeTreeLines(out, m.args, TREE_INDENT);
      if (m.res) writeTreeLines(out, m.res, TREE_INDENT);
    }
    return null;
  };
  const render = (m: AnalyzedMessage, info: string): string | null => {
    if (filter && !filter({ exchange: m.msg.exchange, message: m.msg, args: m.args, res: m.res, names })) return null;
    if (opts.json) {
      if (!opts.verbose) return summaryJsonLine(m, cache);
      const obj = summaryJson(m, names, true);
      if (info) obj["info"] = info;
      return jsonSafeStringify(obj);
    }
    if (opts.csv) return summaryCsvRow(m, names);
    return writeText(m, info);
  };
  const result = await analyzeCapture(
    sourceFor(file),
    {
      limits: opts.limits, registry, decodeBodies,
      ...(renderThread ? { onProgress: (read: number, total: number | null) => { bytesLeft = total === null ? null : total - read; } } : {}),
      // With the render thread the file is read ahead, 1 MiB at a time: read on this
      // thread, the peak RSS of `summary --json -V` on the bench capture rose from
      // 130–131 MB to 131–150 MB (164 MB once), at the same speed.
      ...(renderThread ? { readAhead: true, readChunkBytes: 1024 * 1024 } : {}),
      ...(infoCtx ? { decodeSome: (call: RpcCall, kind: "call" | "reply") => infoNeedsBody(call, kind) && !readsAsFacts(call, kind) } : {}),
      ...(directJson ? { callerDecodes: (call: RpcCall, kind: "call" | "reply") => !infoNeedsBody(call, kind) || readsAsFacts(call, kind) } : {}),
      // ONC-RPC bodies of `summary --csv` are looked at in the handler (csvBodies).
      ...(csvStatus ? { callerDecodes: () => true } : {}),
      // The JSON line needs the header only: the rest of a long record is not copied.
      ...(fastJson && !opts.verbose ? { recordPrefix: MAX_RPC_HEADER_BYTES } : {}),
    },
    {
      // The hot path of `summary --json`: no closure, no string per line, and no view of
      // the record (the line is made of the header alone).
      ...(fastJson && ordered && !opts.verbose ? {
        messageAt(m: AnalyzedMessage) {
          ordered.push(m.msg, m);
        },
      } : {}),
      message(m: AnalyzedMessage, record: Uint8Array, truncatedAt: number | null) {
        if (renderThread && !renderThread.started && messagesSeen++ >= startRenderThreadAfter && worthAThread()) renderThread.start();
        const h = m.msg.header;
        let info = "";
        const callOfReply = h?.kind === "reply" ? m.msg.exchange?.call?.header : undefined;
        if (h?.kind === "call" && m.args === null && readsFacts(h)) {
          ({ m, info } = infoCtx!.infoFromBytes(m, h, record, truncatedAt, factsRegistry!, opts.limits));
        } else if (h?.kind === "reply" && m.res === null && callOfReply?.kind === "call" && readsReplyFacts(callOfReply)) {
          ({ m, info } = infoCtx!.replyInfoFromBytes(m, callOfReply, h, record, truncatedAt, factsRegistry!, opts.limits));
        } else if (infoCtx && h) info = infoCtx.info(m, undecodedReplyStatus(m, record));
        if (fastJson && ordered) {
          const item = bodiesJson(m, record, truncatedAt, info);
          // Holding the line costs its bodies as JSON (a view of the chunk they were written
          // in), or, for a body the render thread holds as bytes, twice its bytes: about its
          // JSON when bulk data (hex) makes most of it, so that both ways write a line early
          // at about the same point, and the memory held stays bounded either way.
          ordered.push(m.msg, item, (item.tail?.length ?? 0) + 2 * heldBytes);
          return;
        }
        if (ordered && csvStatus) {
          const { kept, bodyStatus } = csvBodies(m, record, truncatedAt);
          ordered.push(m.msg, () => summaryCsvRow(kept, names, bodyStatus));
        } else if (ordered) {
          // Rendered when due: the bodies are copied out of the record, which is reused.
          const kept = detachAnalyzed(m);
          ordered.push(m.msg, () => render(kept, info));
        }
        else {
          const text = render(m, info);
          if (text !== null) out.line(text);
        }
      },
      exchangeResolved(ex) {
        ordered?.exchangeResolved(ex);
      },
      libvirtMessage(analyzed) {
        // Rendered when due (a call after its reply is known), so a call line can be
        // selected by its reply's status, as for ONC-RPC; the body is copied out of
        // the message bytes, which are reused by then.
        const m = ordered ? detachLibvirt(analyzed) : analyzed;
        const render = (): string | null => {
          if (filter && !filter(libvirtFilterSubject(m, names))) return null;
          if (opts.json) return jsonSafeStringify(libvirtSummaryJson(m, names, opts.verbose));
          if (opts.csv) return libvirtCsvRow(m, names);
          const lines = [libvirtSummaryLine(m, names)];
          if (opts.verbose) lines.push(...libvirtDetailLines(m, names, "          "));
          return lines.join("\n");
        };
        if (ordered) ordered.push(m.msg, render);
        else {
          const text = render();
          if (text !== null) out.line(text);
        }
      },
      libvirtExchangeResolved(ex) {
        ordered?.exchangeResolved(ex);
      },
      streamIssue(issue) {
        if (!opts.json && !opts.csv && !filter && (issue.code === "gap" || issue.code === "resync" || issue.code === "record-too-long")) {
          out.line(`${String(issue.frame).padStart(6)}  ${issue.code}: ${escapeForTerminal(issue.detail)}`);
        }
      },
    },
  );
  ordered?.finish();
  const c = result.counts;
  if (!opts.json && !opts.csv) {
    out.line("");
    out.line(
      `${result.frames} frames, ${c.messages} RPC messages (${c.calls} calls, ${c.replies} replies), ` +
        `${c.exchanges} exchanges, ${c.unmatchedCalls} unmatched calls, ${c.orphanReplies} orphan replies, ` +
        `${c.retransmissions} retransmissions, ${c.malformed} malformed, ${c.tcpGaps} TCP gaps`,
    );
    const lv = result.libvirtCounts;
    if (lv.messages > 0) {
      out.line(
        `libvirt: ${lv.messages} messages (${lv.calls} calls, ${lv.replies} replies, ${lv.events} events), ` +
          `${lv.answered} answered, ${lv.unanswered} unanswered, ${lv.orphanReplies} orphan replies, ${lv.errors} errors`,
      );
    }
  }
  out.flush();
  // All of standard output is written before the warning, as with one thread.
  await renderThread?.finish();
  if (result.truncation) process.stderr.write(`rpcscope: warning: capture file is cut short: ${escapeForTerminal(result.truncation.message)}\n`);
  return 0;
}

async function runStats(file: string, opts: CommonOptions): Promise<number> {
  const registry = await registryFor(opts);
  const names: NameLookup = namesFor(registry);
  const stats = new StatsCollector();
  const filter = opts.filter;
  // Body statuses (NFS3ERR_NOENT…) are read as one word per reply, not by decoding bodies.
  const statusReader = new BodyStatusReader(registry);
  // The reply that resolves an exchange comes just before the exchange is resolved (the
  // pipeline resolves it right after handing on the message): what the reply says is
  // kept in one slot until then, not in a map per exchange.
  // (Three variables, not an object per reply; the exchange by its id, as storing the
  // young object into this long-lived closure went through the collector's write barrier.)
  let answeredExId = -1;
  let answeredStatus: string | null = null;
  let answeredRes: DecodedField | null = null;
  // libvirt: bodies of a call and its reply, kept until the exchange is resolved (filters on args./res. only).
  const libvirtBodies = new Map<LibvirtExchange, { args: DecodedField | null; res: DecodedField | null }>();
  const result = await analyzeCapture(
    sourceFor(file),
    {
      limits: opts.limits, registry, decodeBodies: filter?.needsBody ?? false,
      // The header and the body status word are all that is read of a record.
      recordPrefix: MAX_RPC_HEADER_BYTES + statusReader.furthestStatusEnd(),
    },
    {
      // The record is read where it lies: only a reply's status word is looked at.
      messageAt(m, data, start, end) {
        const ex = m.msg.exchange;
        const h = m.msg.header;
        const call = ex?.call?.header;
        // Only the reply that resolves its exchange (not a duplicate of one already counted).
        if (!ex || ex.reply !== m.msg || h?.kind !== "reply" || call?.kind !== "call") return;
        answeredExId = ex.id;
        answeredStatus = statusReader.readAt(call, h, data, start, end);
        answeredRes = m.res;
      },
      exchangeResolved(ex) {
        let status: string | null = null;
        let res: DecodedField | null = null;
        if (answeredExId === ex.id) {
          status = answeredStatus;
          res = answeredRes;
          answeredExId = -1;
          answeredStatus = null;
          answeredRes = null;
        }
        if (filter && !filter({ exchange: ex, message: null, args: null, res, names })) return;
        stats.add(ex, names, null, status);
      },
      libvirtMessage(m) {
        const h = m.msg.header;
        const ex = m.msg.exchange;
        if (ex && (h?.kind === "call" || h?.kind === "reply")) {
          if (filter?.needsBody) {
            const b = libvirtFilterBodies(detachLibvirt(m).body);
            const kept = libvirtBodies.get(ex);
            libvirtBodies.set(ex, { args: kept?.args ?? b.args, res: kept?.res ?? b.res });
          }
          return; // counted when the exchange is resolved
        }
        // Events, stream data and unreadable headers stand alone.
        if (filter && !filter(libvirtFilterSubject(m, names))) return;
        stats.addLibvirtMessage(m.msg, names);
      },
      libvirtExchangeResolved(ex) {
        const b = libvirtBodies.get(ex);
        if (b) libvirtBodies.delete(ex);
        if (filter && !filter({
          exchange: null, message: null, args: b?.args ?? null, res: b?.res ?? null, names, libvirt: { message: null, exchange: ex },
        })) return;
        stats.addLibvirt(ex, names);
      },
    },
  );
  const out = new LineWriter(1);
  const report = stats.result();
  if (opts.json) out.line(statsToJson(report));
  else if (opts.csv) {
    for (const table of ["procedures", "conversations", "clients"] as const) {
      out.line(`# ${table}`);
      out.line(statsToCsv(report, table).replace(/\n$/, ""));
    }
  } else {
    out.line(formatStatsText(report, process.stdout.columns ?? 120));
    const lv = result.libvirtCounts.messages;
    out.line(`${result.frames} frames, ${result.counts.messages} RPC messages${lv > 0 ? `, ${lv} libvirt messages` : ""}`);
  }
  out.flush();
  return 0;
}

async function runTuiOnFile(file: string, opts: CommonOptions): Promise<number> {
  const registry = await registryFor(opts);
  const names = namesFor(registry);
  const { CaptureIndex } = await import("./capture-index.js");
  const { runTui } = await import("./tui/app.js");
  const index = new CaptureIndex({ title: file, live: false, registry, names, limits: opts.limits });
  const source = sourceFor(file);
  let loadError: unknown = null;
  const loading = analyzeCapture(
    source,
    {
      limits: opts.limits,
      registry,
      ...index.decodeOptions(),
      yieldBetweenBatches: true,
      onProgress: (read, total) => index.progressUpdate(read, total),
    },
    index.handlers(),
  ).then(
    () => index.finished(),
    (err: unknown) => {
      loadError = err;
      index.finished();
    },
  );
  if (opts.filter) index.setFilter(opts.filter.source);
  await runTui(index);
  index.close();
  if (loadError) throw loadError;
  void loading;
  return 0;
}

async function runSubcommand(name: string, argv: string[]): Promise<number> {
  switch (name) {
    case "diff":
      return (await import("./commands/diff.js")).run(argv);
    case "write":
      return (await import("./commands/write.js")).run(argv);
    case "capture":
      return (await import("./commands/capture.js")).run(argv);
    default:
      return (await import("./commands/interfaces.js")).run(argv);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  // Subcommands with options of their own parse their arguments themselves.
  const first = argv[0];
  if (first === "diff" || first === "write" || first === "capture" || first === "interfaces") {
    return runSubcommand(first, argv.slice(1));
  }
  // `rpcscope -i IFACE`: the terminal UI on a live capture.
  if (argv.some((a) => a === "-i" || a === "--interface" || a.startsWith("--interface=") || /^-i./.test(a))) {
    const live = await import("./commands/capture.js");
    const parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { ...COMMON_OPTIONS, ...live.CAPTURE_OPTIONS },
    });
    if (parsed.values.help) {
      process.stdout.write(live.CAPTURE_USAGE + "\n");
      return 0;
    }
    return live.runLiveTui({ settings: live.liveSettings(parsed.values, parsed.positionals), common: commonOptions(parsed.values) });
  }
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: COMMON_OPTIONS,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n\n${filterHelp()}\n`);
    return 0;
  }
  const opts = commonOptions(values);
  const [command, ...rest] = positionals;
  switch (command) {
    case "summary": {
      if (rest.length !== 1) throw new UsageError("summary takes exactly one capture file (or '-')");
      return runSummary(rest[0]!, opts);
    }
    case "stats": {
      if (rest.length !== 1) throw new UsageError("stats takes exactly one capture file (or '-')");
      return runStats(rest[0]!, opts);
    }
    case undefined:
      throw new UsageError("no capture file given (see rpcscope --help)");
    default: {
      // `rpcscope FILE`: the TUI on a terminal, the summary otherwise.
      if (rest.length !== 0) throw new UsageError(`unknown command '${command}' (see rpcscope --help)`);
      if (process.stdout.isTTY && process.stdin.isTTY && !opts.json && command !== "-") return runTuiOnFile(command, opts);
      return runSummary(command, opts);
    }
  }
}

/**
 * What to tell the user about an error that is theirs, not ours, one line per
 * problem (a specification can hold several, each at its file:line:col); null
 * for a bug.
 */
export function errorLines(err: unknown): string[] | null {
  if (err instanceof UsageError || err instanceof InputError) return [err.message];
  if (err instanceof CaptureError) return [err.message];
  if (err instanceof FilterError) return [`bad filter: ${err.message}`];
  if (err instanceof Error && (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) return [err.message];
  if (err instanceof SchemaError) return err.errors.map((e) => e.located);
  return null;
}

