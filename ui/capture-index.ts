/**
 * The TUI's data source over a capture (file, standard input or live): one compact
 * row per exchange, built in one ordered pass while the capture loads in the
 * background. Record bytes go to a spill file; a row keeps offsets, and details are
 * decoded again from those bytes when a row is opened.
 */
import type { Exchange, LibvirtExchange, LibvirtMessage, RpcCall, RpcMessage, RpcReply } from "../dissect/rpc-types.js";
import { decodeLibvirtHeader } from "../dissect/libvirt/header.js";
import { decodeLibvirtBody } from "../dissect/libvirt/body.js";
import {
  errorMessageOf, libvirtDetailLines, libvirtFilterBodies, libvirtProcName, type AnalyzedLibvirtMessage,
} from "./libvirt-format.js";
import type { ProgramRegistry } from "../dissect/registry.js";
import type { Limits } from "../capture/limits.js";
import type { Transport } from "../capture/transport.js";
import { decodeRpcHeader, MAX_RPC_HEADER_BYTES } from "../dissect/rpc-header.js";
import type { DecodedField } from "../dissect/xdr-types.js";
import type { StreamIssue } from "../dissect/rpc-pipeline.js";
import type { Issue } from "../dissect/malformed.js";
import type { AnalyzedMessage, AnalyzeHandlers, AnalyzeOptions } from "./analyze.js";
import { BodyStatusReader } from "./body-status.js";
import type { Detail, DetailBytes, ExchangeRow, FilterResult, Progress, RowKind, TreeNode, TuiDataSource } from "./tui/data-source.js";
import { compileFilter, exprUsesField, type CompiledFilter } from "./filter/evaluate.js";
import { FilterError } from "./filter/lexer.js";
import { bodyErrorName, type FilterSubject, type LibvirtFilterSubject, type NameLookup } from "./filter/fields.js";
import { StatsCollector, formatStatsText, RttDistribution } from "./stats.js";
import { SpillFile } from "./spill-file.js";
import { callTree, replyTree, type MessageContext } from "./detail-model.js";
import { infoNeedsBody, MessageInfoContext, nfs3FactsCall, nfs3ReplyFactsCall, statusWordCall } from "./message-info.js";
import { MessageStore, type MessageId, type StoredMessage } from "./message-store.js";
import { RowStore, type RowEndpoints, type RowId } from "./row-store.js";

export interface CaptureIndexOptions {
  readonly title: string;
  readonly live: boolean;
  readonly registry: ProgramRegistry;
  readonly names: NameLookup;
  readonly limits: Limits;
}

/** What a row is started from: an ONC-RPC or a libvirt message. */
interface RowSource {
  readonly time: number;
  readonly msg: Pick<RpcMessage, "src" | "dst" | "sport" | "dport" | "transport" | "frame" | "connId"> & {
    readonly header: { readonly xid: number } | { readonly serial: number } | null;
  };
}

/** Shared by every single-frame message: `framesOf` gives the real list. */
const NO_FRAMES: readonly number[] = Object.freeze([]);
const NO_ISSUES: readonly string[] = Object.freeze([]);

/** Frames a stored record came from (one frame unless it spanned several). */
function framesOf(s: StoredMessage): readonly number[] {
  return s.frames.length === 0 ? [s.frame] : s.frames;
}

/** Issues stored as "code: detail" text, back as issues (for the filter's `issue` field). */
function parseIssues(stored: readonly string[]): Issue[] {
  return stored.map((text) => {
    const [code, ...rest] = text.split(": ");
    return { code: code as Issue["code"], detail: rest.join(": ") };
  });
}

/**
 * The same text as one flat string. Info texts are made by concatenation, which V8
 * keeps as a tree of pieces ("READ fh 0x… 8KiB@…" is four or five objects); a row
 * keeps its text as long as the TUI runs, and the tree cost about 150 bytes a row
 * (heap after loading 50,000 exchanges: 46.4 MB, flat 39.1 MB).
 */
export function flatText(text: string): string {
  if (text.length <= 12) return text;
  // normalize() hands back a flat copy, at 0.4 µs a text against 1 µs for a JSON
  // round trip (measured on 250,000 info texts); a text it would change (not in
  // NFC) takes the round trip, which is exact for every string.
  const flat = text.normalize();
  return flat === text ? flat : (JSON.parse(JSON.stringify(text)) as string);
}

const NO_BODY_ISSUES: readonly Issue[] = Object.freeze([]);

/** A row's bodies decoded again from the stored bytes, with what was found wrong in each. */
interface DecodedBodies {
  readonly args: DecodedField | null;
  readonly res: DecodedField | null;
  readonly argsNote: string | null;
  readonly resNote: string | null;
  readonly argsIssues: readonly Issue[];
  readonly resIssues: readonly Issue[];
}

/** A message's own issues, as stored ("code: detail"), then its body's. */
function issueTexts(stored: StoredMessage, bodyIssues: readonly Issue[]): readonly string[] {
  return bodyIssues.length === 0 ? stored.issues : [...stored.issues, ...bodyIssues.map((i) => `${i.code}: ${i.detail}`)];
}

function endpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export class CaptureIndex implements TuiDataSource {
  readonly title: string;
  readonly live: boolean;
  private readonly rows = new RowStore();
  private readonly rowOfExchange = new Map<Exchange, RowId>();
  private readonly spill = new SpillFile();
  private readonly messages = new MessageStore();
  private readonly stats = new StatsCollector();
  private readonly rtts = new RttDistribution();
  private readonly listeners = new Set<() => void>();
  /**
   * A replied exchange's body status, from its reply until it is resolved (at once,
   * as a rule). A Map with the entry taken out at resolution, not a WeakMap: setting
   * a WeakMap entry per exchange cost 6% of the load.
   */
  private readonly bodyStatusOf = new Map<Exchange, string | null>();
  private readonly infoCtx = new MessageInfoContext();
  private readonly statusReader: BodyStatusReader;
  private readonly libvirtRows = new Map<LibvirtExchange, RowId>();
  private view: number[] | null = null;
  /**
   * While the view is being rebuilt (in slices), rows [0, scanned) have been
   * looked at; rows past that are left to the rebuild. Outside a rebuild, every
   * row is placed in (or taken out of) the view when it is filled in or changes.
   */
  private scanned = 0;
  private scanning = false;
  private filter: CompiledFilter | null = null;
  /** The filter tests `issue`: body issues are found only by decoding the bodies again. */
  private filterLooksAtIssues = false;
  private conversation: string | null = null;
  private viewJob = 0;
  private done = false;
  private fraction: number | null = null;
  private counts = { exchanges: 0, errors: 0, unmatched: 0, malformed: 0, gaps: 0 };
  private notifyPending = false;

  constructor(private readonly options: CaptureIndexOptions) {
    this.statusReader = new BodyStatusReader(options.registry);
    this.title = options.title;
    this.live = options.live;
  }

  /**
   * What to decode while loading (spread into analyzeCapture's options): every call
   * (its info text comes from its arguments), libvirt messages (an error reply shows
   * its message), and of the ONC-RPC replies only those the NFS context learns from. The rest (READ data above all) is decoded when a row is
   * opened or a filter looks at bodies; a reply's body status is read from its
   * status word. Loading decoded every body before, a sixth of its time.
   */
  decodeOptions(): Pick<AnalyzeOptions, "decodeBodies" | "decodeSome" | "decodeLibvirtBodies"> {
    return {
      decodeBodies: false,
      decodeLibvirtBodies: true,
      // The most common NFSv3 calls are read as facts for their info text (onMessage).
      decodeSome: (call, kind) => kind === "call"
        ? !nfs3FactsCall(call, this.options.registry)
        : infoNeedsBody(call, kind) && !nfs3ReplyFactsCall(call, this.options.registry),
    };
  }

  /** Handlers to pass to analyzeCapture (with decodeOptions()). */
  handlers(): AnalyzeHandlers {
    return {
      message: (m, record, truncatedAt) => this.onMessage(m, record, truncatedAt),
      exchangeResolved: (ex) => this.onResolved(ex),
      libvirtMessage: (m, bytes) => this.onLibvirtMessage(m, bytes),
      libvirtExchangeResolved: (ex) => this.onLibvirtResolved(ex),
      streamIssue: (issue) => this.onStreamIssue(issue),
    };
  }

  progressUpdate(bytesRead: number, total: number | null): void {
    this.fraction = total ? Math.min(1, bytesRead / total) : null;
  }

  finished(): void {
    this.done = true;
    this.fraction = 1;
    this.notify(true);
  }

  close(): void {
    this.spill.close();
  }

  // ---- building -------------------------------------------------------------

  /**
   * Stores the message with its own issues; its body's issues are found again when
   * the body is decoded (a row opened, a filter on bodies or issues), as most bodies
   * are not decoded while loading.
   */
  private store(m: AnalyzedMessage, record: Uint8Array, bodyIssues: readonly Issue[] = NO_BODY_ISSUES): MessageId {
    return this.storeRecord(m.msg, m.time, record, bodyIssues.length ? [...m.msg.issues, ...bodyIssues] : m.msg.issues);
  }

  /**
   * The body issues of a reply whose row will have no call (a duplicate reply, its
   * exchange's row answered already): its body cannot be decoded again later, so
   * they are found and kept now, with the call its exchange has.
   */
  private orphanBodyIssues(m: AnalyzedMessage, record: Uint8Array, truncatedAt: number | null): readonly Issue[] {
    if (m.bodyIssues.length || m.res !== null) return m.bodyIssues;
    const h = m.msg.header;
    const call = m.msg.exchange?.call?.header;
    if (h?.kind !== "reply" || call?.kind !== "call") return NO_BODY_ISSUES;
    return this.options.registry.decodeReply(call, h, record, this.options.limits, truncatedAt ?? undefined).issues;
  }

  private storeLibvirt(m: AnalyzedLibvirtMessage, bytes: Uint8Array): MessageId {
    return this.storeRecord(m.msg, m.time, bytes, m.msg.issues);
  }

  /** The row's view of one message: where its bytes are in the spill file, and a few facts. */
  private storeRecord(
    msg: RpcMessage | LibvirtMessage, time: number, bytes: Uint8Array, issues: readonly { code: string; detail: string }[],
  ): MessageId {
    return this.messages.add({
      frame: msg.frame,
      frames: msg.frames.length === 1 ? NO_FRAMES : msg.frames.slice(),
      tsSec: msg.tsSec,
      tsNsec: msg.tsNsec,
      time,
      src: msg.src,
      dst: msg.dst,
      sport: msg.sport,
      dport: msg.dport,
      connId: msg.connId,
      length: msg.length,
      spillOffset: this.spill.append(bytes),
      stored: bytes.length,
      issues: issues.length ? issues.map((i) => `${i.code}: ${i.detail}`) : NO_ISSUES,
    });
  }

  /**
   * Endpoint numbers of rows on one TCP connection, by which side is the client:
   * made once per connection and side, not as three texts built and looked up per row.
   */
  private readonly connEndpoints = new Map<number, { readonly addr: string; readonly port: number; readonly asClient: RowEndpoints; readonly asServer: RowEndpoints }>();

  private endpointsOf(msg: RowSource["msg"], clientIsSrc: boolean): RowEndpoints {
    const clientAddr = clientIsSrc ? msg.src : msg.dst;
    const clientPort = clientIsSrc ? msg.sport : msg.dport;
    const serverAddr = clientIsSrc ? msg.dst : msg.src;
    const serverPort = clientIsSrc ? msg.dport : msg.sport;
    const known = msg.connId === null ? undefined : this.connEndpoints.get(msg.connId);
    if (known) {
      if (known.addr === clientAddr && known.port === clientPort) return known.asClient;
      if (known.addr === serverAddr && known.port === serverPort) return known.asServer;
    }
    const client = endpoint(clientAddr, clientPort);
    const server = endpoint(serverAddr, serverPort);
    const t = msg.transport;
    const conversation = client < server ? `${t} ${client} ${server}` : `${t} ${server} ${client}`;
    const ids = this.rows.endpointsOf(conversation, client, server);
    if (msg.connId !== null && !known) {
      if (this.connEndpoints.size >= 65_536) this.connEndpoints.clear();
      this.connEndpoints.set(msg.connId, {
        addr: clientAddr, port: clientPort, asClient: ids, asServer: this.rows.endpointsOf(conversation, server, client),
      });
    }
    return ids;
  }

  /** A new row (placed in the view by the caller once its fields are filled in: placeInView). */
  private newRow(kind: RowKind, m: RowSource, clientIsSrc: boolean, status: string, isError: boolean, info: string, libvirt = false): RowId {
    const msg = m.msg;
    return this.rows.add({
      kind,
      libvirt,
      firstFrame: msg.frame,
      time: m.time,
      transport: msg.transport,
      xid: msg.header ? ("xid" in msg.header ? msg.header.xid : msg.header.serial) : null,
      status,
      isError,
      info,
      endpoints: this.endpointsOf(msg, clientIsSrc),
    });
  }

  private onMessage(analyzed: AnalyzedMessage, record: Uint8Array, truncatedAt: number | null): void {
    let m = analyzed;
    const { msg } = m;
    const h = msg.header;
    const rows = this.rows;
    // Learned in frame order from every message, retransmissions and orphans included.
    // A reply not decoded while loading has its body status read from its status word.
    const call = h?.kind === "reply" ? msg.exchange?.call?.header : undefined;
    const { registry, limits } = this.options;
    let info = "";
    // Left undecoded by decodeOptions(): read from its bytes (decoded after all when not clean).
    let fromBytes = false;
    if (h?.kind === "call" && m.args === null && nfs3FactsCall(h, registry)) {
      ({ m, info } = this.infoCtx.infoFromBytes(m, h, record, truncatedAt, registry, limits));
      fromBytes = true;
    } else if (h?.kind === "reply" && m.res === null && call?.kind === "call" && nfs3ReplyFactsCall(call, registry)) {
      ({ m, info } = this.infoCtx.replyInfoFromBytes(m, call, h, record, truncatedAt, registry, limits));
      fromBytes = true;
    }
    const bodyStatus = h?.kind === "reply" && m.res === null && call?.kind === "call" ? this.statusReader.read(call, h, record) : undefined;
    if (h && !fromBytes) info = this.infoCtx.info(m, statusWordCall(m) ? bodyStatus : undefined);
    if (!h) {
      const row = this.newRow("malformed", m, true, "malformed", true, msg.issues.map((i) => i.detail).join("; "));
      rows.setCall(row, this.store(m, record));
      this.counts.malformed++;
      this.placeInView(row);
      this.notify();
      return;
    }
    const ex = msg.exchange;
    if (h.kind === "call") {
      const known = ex ? this.rowOfExchange.get(ex) : undefined;
      if (known !== undefined) {
        if (rows.retransmits(known) !== ex!.retransmits) {
          rows.setRetransmits(known, ex!.retransmits);
          this.placeInView(known);
        }
        return;
      }
      const row = this.newRow("unmatched-call", m, true, "waiting", false, flatText(info));
      rows.setProcedure(row, h.prog, h.vers, h.proc);
      rows.setCall(row, this.store(m, record));
      this.counts.exchanges++;
      if (ex) this.rowOfExchange.set(ex, row);
      this.placeInView(row);
      this.notify();
      return;
    }
    const row = ex ? this.rowOfExchange.get(ex) : undefined;
    if (row === undefined || rows.reply(row) !== null) {
      const orphan = this.newRow("orphan-reply", m, false, h.status, h.status !== "SUCCESS", "reply without a call in the capture");
      rows.setReply(orphan, this.store(m, record, this.orphanBodyIssues(m, record, truncatedAt)));
      this.counts.unmatched++;
      this.placeInView(orphan);
      this.notify();
      return;
    }
    rows.setKind(row, "exchange");
    rows.setReply(row, this.store(m, record));
    const rtt = ex!.rtt;
    rows.setRtt(row, rtt);
    const errorName = m.res !== null ? bodyErrorName(m.res) : (bodyStatus ?? null);
    if (ex) this.bodyStatusOf.set(ex, errorName);
    rows.setStatus(row, h.status === "SUCCESS" && errorName ? errorName : h.status);
    const isError = h.status !== "SUCCESS" || errorName !== null;
    rows.setError(row, isError);
    // A reply's text describes the whole exchange (the call's text plus any error). Most
    // often it is the call's text (29,233 of 29,695 replies in a bench capture): the row
    // keeps the flat copy it has, and the reply's is not flattened again.
    if (info && info !== rows.info(row)) rows.setInfo(row, flatText(info));
    if (isError) this.counts.errors++;
    if (rtt !== null) this.rtts.add(rtt);
    this.placeInView(row);
    this.notify();
  }

  private onResolved(ex: Exchange): void {
    const row = this.rowOfExchange.get(ex);
    this.rowOfExchange.delete(ex);
    const bodyStatus = this.bodyStatusOf.get(ex) ?? null;
    this.bodyStatusOf.delete(ex);
    this.stats.add(ex, this.options.names, null, bodyStatus);
    if (row === undefined) return;
    if (this.rows.reply(row) === null) {
      this.rows.setStatus(row, "no reply");
      this.counts.unmatched++;
    }
    if (this.rows.retransmits(row) !== ex.retransmits) {
      this.rows.setRetransmits(row, ex.retransmits);
      this.placeInView(row);
    }
  }

  /** libvirt: one row per CALL (updated by its REPLY), and a row for each event or stream message. */
  private onLibvirtMessage(m: AnalyzedLibvirtMessage, bytes: Uint8Array): void {
    const { msg } = m;
    const h = msg.header;
    const rows = this.rows;
    const stored = this.storeLibvirt(m, bytes);
    const ex = msg.exchange;
    if (h?.kind === "reply" && ex) {
      const row = this.libvirtRows.get(ex);
      this.libvirtRows.delete(ex);
      if (row !== undefined && rows.reply(row) === null) {
        rows.setKind(row, "exchange");
        rows.setReply(row, stored);
        rows.setRtt(row, ex.rtt);
        rows.setStatus(row, h.statusName);
        const isError = h.statusName !== "OK";
        rows.setError(row, isError);
        if (isError) {
          this.counts.errors++;
          const message = errorMessageOf(m.body);
          if (message !== null) rows.setInfo(row, message);
        }
        if (ex.rtt !== null) this.rtts.add(ex.rtt);
        this.placeInView(row);
        this.notify();
        return;
      }
    }
    const isCall = h?.kind === "call";
    const kind: RowKind = isCall ? "unmatched-call" : h?.kind === "reply" ? "orphan-reply" : h ? "exchange" : "malformed";
    const row = this.newRow(kind, m, isCall || h?.kind !== "reply",
      !h ? "malformed" : isCall ? "waiting" : h.kind === "message" ? "event" : h.statusName,
      !h || (h.kind === "reply" && h.statusName !== "OK"),
      h ? `${h.typeName} serial ${h.serial}` : msg.issues.map((i) => i.detail).join("; "),
      true);
    if (h) rows.setProcedure(row, h.prog, h.vers, h.proc);
    if (isCall || !h) rows.setCall(row, stored);
    else rows.setReply(row, stored);
    if (isCall) {
      this.counts.exchanges++;
      if (ex) this.libvirtRows.set(ex, row);
    }
    if (!h) this.counts.malformed++;
    // Calls and replies are counted once their exchange is resolved; the rest stand alone.
    if (!h || h.kind === "message" || h.kind === "stream") this.stats.addLibvirtMessage(msg, this.options.names);
    this.placeInView(row);
    this.notify();
  }

  private onLibvirtResolved(ex: LibvirtExchange): void {
    this.stats.addLibvirt(ex, this.options.names);
    if (ex.reply !== null) return;
    const row = this.libvirtRows.get(ex);
    this.libvirtRows.delete(ex);
    if (row !== undefined && this.rows.reply(row) === null) {
      this.rows.setStatus(row, "no reply");
      this.counts.unmatched++;
    }
  }

  /** A stored libvirt message read back, with its header decoded again. */
  private rereadLibvirt(stored: StoredMessage, transport: Transport): { msg: LibvirtMessage; bytes: Uint8Array } {
    const bytes = this.spill.read(stored.spillOffset, stored.stored);
    const msg: LibvirtMessage = {
      seq: 0, protocol: "libvirt", frame: stored.frame, frames: framesOf(stored), tsSec: stored.tsSec, tsNsec: stored.tsNsec,
      transport, connId: stored.connId ?? 0, src: stored.src, dst: stored.dst, sport: stored.sport, dport: stored.dport,
      length: stored.length, header: decodeLibvirtHeader(bytes), issues: parseIssues(stored.issues), exchange: null, stream: null,
    };
    return { msg, bytes };
  }

  /**
   * The filter's view of a libvirt row: a call and/or reply as one exchange,
   * an event or stream message (or an unreadable one) as itself.
   */
  private libvirtSubjectFor(row: RowId, withBodies: boolean): FilterSubject {
    const rows = this.rows;
    const callId = rows.call(row);
    const replyId = rows.reply(row);
    const call = callId ? this.rereadLibvirt(this.messages.get(callId), rows.transport(row)) : null;
    const reply = replyId ? this.rereadLibvirt(this.messages.get(replyId), rows.transport(row)) : null;
    let lv: LibvirtFilterSubject;
    if (call?.msg.header?.kind === "call" || reply?.msg.header?.kind === "reply") {
      const ex: LibvirtExchange = {
        id: row + 1, connId: (call ?? reply)!.msg.connId, prog: rows.prog(row) ?? 0, serial: rows.xid(row) ?? 0,
        call: call?.msg ?? null, reply: reply?.msg ?? null, rtt: rows.rtt(row), issues: [],
      };
      if (call) call.msg.exchange = ex;
      if (reply) reply.msg.exchange = ex;
      lv = { message: null, exchange: ex };
    } else {
      lv = { message: (call ?? reply)?.msg ?? null, exchange: null };
    }
    let args: DecodedField | null = null;
    let res: DecodedField | null = null;
    if (withBodies) {
      const { registry, limits } = this.options;
      for (const side of [call, reply]) {
        if (!side) continue;
        const truncatedAt = side.bytes.length < side.msg.length ? side.bytes.length : null;
        const b = libvirtFilterBodies(decodeLibvirtBody(side.msg.header, side.bytes, truncatedAt, registry, limits));
        args ??= b.args;
        res ??= b.res;
      }
    }
    return { exchange: null, message: null, args, res, names: this.options.names, libvirt: lv };
  }

  /** The detail of a libvirt row: header and body lines of its call and reply, decoded again. */
  private libvirtDetail(row: RowId): Detail {
    const tree: TreeNode[] = [];
    const bytes: DetailBytes[] = [];
    for (const [side, id] of [["call", this.rows.call(row)], ["reply", this.rows.reply(row)]] as const) {
      if (!id) continue;
      const stored = this.messages.get(id);
      const { msg, bytes: data } = this.rereadLibvirt(stored, this.rows.transport(row));
      const header = msg.header;
      const body = decodeLibvirtBody(header, data, data.length < stored.length ? data.length : null, this.options.registry, this.options.limits);
      const lines = libvirtDetailLines({ msg, time: stored.time, body }, this.options.names, "");
      tree.push({
        label: `${side === "call" ? "Call" : "Reply"} in frame ${stored.frame}: ${lines[0] ?? ""}`,
        children: lines.slice(1).map((label) => ({ label, children: [] })),
        key: `libvirt.${side}`,
      });
      bytes.push({ message: side, bytes: data, frames: framesOf(stored) });
    }
    return { tree, bytes };
  }

  private onStreamIssue(issue: StreamIssue): void {
    if (issue.code !== "gap" && issue.code !== "resync" && issue.code !== "record-too-long") return;
    const row = this.rows.add({
      kind: "gap",
      libvirt: false,
      firstFrame: issue.frame,
      time: 0,
      transport: "tcp",
      xid: null,
      status: issue.code,
      isError: issue.code !== "gap",
      info: issue.detail,
      endpoints: this.rows.endpointsOf(`conn ${issue.connId ?? "?"}`, "", ""),
    });
    this.placeInView(row);
    if (issue.code === "gap") this.counts.gaps++;
    this.notify();
  }

  private notify(force = false): void {
    if (force) {
      for (const l of this.listeners) l();
      return;
    }
    if (this.notifyPending) return;
    this.notifyPending = true;
    setTimeout(() => {
      this.notifyPending = false;
      for (const l of this.listeners) l();
    }, 100);
  }

  // ---- the view ---------------------------------------------------------------

  rowCount(): number {
    return this.view ? this.view.length : this.rows.size;
  }

  private rowAt(position: number): RowId {
    return this.view ? this.view[position]! : position;
  }

  row(position: number): ExchangeRow {
    const r = this.rowAt(position);
    const rows = this.rows;
    const names = this.options.names;
    const prog = rows.prog(r);
    const vers = rows.vers(r) ?? 0;
    const proc = rows.proc(r) ?? 0;
    const program = prog === null ? "" : `${names.programName(prog) ?? prog} v${vers}`;
    const procedure = prog === null ? "" : rows.libvirt(r)
      ? libvirtProcName(names, { prog, vers, proc })
      : names.procedureName(prog, vers, proc);
    const call = rows.call(r);
    const reply = rows.reply(r);
    return {
      index: r + 1,
      kind: rows.kind(r),
      firstFrame: rows.firstFrame(r),
      time: rows.time(r),
      client: rows.client(r),
      server: rows.server(r),
      transport: rows.transport(r),
      xid: rows.xid(r),
      program,
      procedure,
      info: rows.info(r),
      status: rows.status(r),
      isError: rows.isError(r),
      rtt: rows.rtt(r),
      callBytes: call ? this.messages.length(call) : 0,
      replyBytes: reply ? this.messages.length(reply) : 0,
      retransmits: rows.retransmits(r),
    };
  }

  positionOf(exchangeIndex: number): number {
    const target = exchangeIndex - 1;
    if (!this.view) return Math.min(Math.max(target, 0), this.rows.size);
    let lo = 0;
    let hi = this.view.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.view[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  nextError(position: number, direction: 1 | -1): number | null {
    const n = this.rowCount();
    for (let p = position + direction; p >= 0 && p < n; p += direction) {
      if (this.rows.isError(this.rowAt(p))) return p;
    }
    return null;
  }

  setFilter(expression: string | null): FilterResult {
    if (expression === null || expression.trim() === "") {
      this.filter = null;
    } else {
      try {
        this.filter = compileFilter(expression);
      } catch (err) {
        if (err instanceof FilterError) return { ok: false, column: Math.max(0, err.column - 1), message: err.message };
        throw err;
      }
    }
    this.filterLooksAtIssues = this.filter !== null && exprUsesField(this.filter.ast, "issue");
    this.rebuildView();
    return { ok: true };
  }

  setConversation(exchangeIndex: number | null): void {
    const row = exchangeIndex === null ? -1 : exchangeIndex - 1;
    this.conversation = row >= 0 && row < this.rows.size ? this.rows.conversation(row) : null;
    this.rebuildView();
  }

  /** Rebuilds the filtered view in slices, so the UI stays responsive on large captures. */
  private rebuildView(): void {
    const job = ++this.viewJob;
    if (!this.filter && !this.conversation) {
      this.view = null;
      this.notify(true);
      return;
    }
    const view: number[] = [];
    this.view = view;
    this.scanned = 0;
    this.scanning = true;
    const step = () => {
      if (job !== this.viewJob) return;
      const end = Math.min(this.rows.size, this.scanned + 20_000);
      for (; this.scanned < end; this.scanned++) if (this.matchesView(this.scanned)) view.push(this.scanned);
      if (this.scanned < this.rows.size) setImmediate(step);
      else this.scanning = false;
      this.notify(true);
    };
    step();
  }

  /**
   * Puts a row that was just filled in, or that changed (its reply came, it
   * was retransmitted), into the view or takes it out, keeping the view in
   * index order. A call's row is placed when the call is seen and again when
   * its reply is, so a filter on the reply (status, rtt) sees both.
   */
  private placeInView(row: RowId): void {
    const view = this.view;
    if (!view) return;
    const i = row;
    if (this.scanning && i >= this.scanned) return;
    const match = this.matchesView(row);
    const n = view.length;
    if (n === 0 || view[n - 1]! < i) {
      if (match) view.push(i);
      return;
    }
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (view[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    const present = view[lo] === i;
    if (match && !present) view.splice(lo, 0, i);
    else if (!match && present) view.splice(lo, 1);
  }

  private matchesView(row: RowId): boolean {
    if (this.conversation && this.rows.conversation(row) !== this.conversation) return false;
    if (!this.filter) return true;
    const withBodies = this.filter.needsBody || this.filterLooksAtIssues;
    const subject = this.rows.libvirt(row) ? this.libvirtSubjectFor(row, withBodies) : this.subjectFor(row, withBodies);
    return this.filter(subject);
  }

  /** Rebuilds just enough of the exchange from stored bytes for the filter to look at. */
  private subjectFor(row: RowId, withBodies: boolean): FilterSubject {
    const names = this.options.names;
    const rows = this.rows;
    const callId = rows.call(row);
    const replyId = rows.reply(row);
    const transport = rows.transport(row);
    // Without bodies, the header's bytes are all the subject needs.
    const call = callId ? this.reread(this.messages.get(callId), transport, !withBodies) : null;
    const reply = replyId ? this.reread(this.messages.get(replyId), transport, !withBodies) : null;
    const ex: Exchange = {
      id: row + 1,
      transport,
      xid: rows.xid(row) ?? 0,
      call: call?.msg ?? null,
      reply: reply?.msg ?? null,
      retransmits: rows.retransmits(row),
      rtt: rows.rtt(row),
      issues: [],
    };
    if (call) call.msg.exchange = ex;
    if (reply) reply.msg.exchange = ex;
    let args: DecodedField | null = null;
    let res: DecodedField | null = null;
    if (withBodies) {
      const decoded = this.decodeBodies(call, reply);
      args = decoded.args;
      res = decoded.res;
      // The bodies' issues belong to their messages (the `issue` field looks there).
      if (call && decoded.argsIssues.length) call.msg.issues = [...call.msg.issues, ...decoded.argsIssues];
      if (reply && decoded.resIssues.length) reply.msg.issues = [...reply.msg.issues, ...decoded.resIssues];
    }
    return { exchange: ex, message: null, args, res, names };
  }

  /**
   * A stored message read back, its header decoded again. `headerOnly`: only the
   * first MAX_RPC_HEADER_BYTES are read (the longest header there is; the header
   * decodes the same from them), so `bytes` may end before the body does.
   */
  private reread(stored: StoredMessage, transport: Transport, headerOnly = false): { msg: RpcMessage; bytes: Uint8Array } | null {
    const bytes = this.spill.read(stored.spillOffset, headerOnly ? Math.min(stored.stored, MAX_RPC_HEADER_BYTES) : stored.stored);
    let header: RpcCall | RpcReply | null = null;
    try {
      header = decodeRpcHeader(bytes, stored.length).header;
    } catch {
      header = null; // malformed rows keep header null, as they were indexed
    }
    const msg: RpcMessage = {
      seq: 0,
      protocol: "onc-rpc",
      frame: stored.frame,
      frames: framesOf(stored),
      tsSec: stored.tsSec,
      tsNsec: stored.tsNsec,
      transport,
      connId: stored.connId,
      src: stored.src,
      dst: stored.dst,
      sport: stored.sport,
      dport: stored.dport,
      length: stored.length,
      header,
      issues: parseIssues(stored.issues),
      exchange: null,
    };
    return { msg, bytes };
  }

  private decodeBodies(
    call: { msg: RpcMessage; bytes: Uint8Array } | null,
    reply: { msg: RpcMessage; bytes: Uint8Array } | null,
  ): DecodedBodies {
    const { registry, limits } = this.options;
    let args: DecodedField | null = null;
    let res: DecodedField | null = null;
    let argsNote: string | null = null;
    let resNote: string | null = null;
    let argsIssues: readonly Issue[] = [];
    let resIssues: readonly Issue[] = [];
    const ch = call?.msg.header;
    const truncatedAt = (s: { msg: RpcMessage; bytes: Uint8Array }) => (s.bytes.length < s.msg.length ? s.bytes.length : undefined);
    if (call && ch?.kind === "call") {
      const out = registry.decodeCall(ch, call.bytes, limits, truncatedAt(call));
      args = out.args;
      argsIssues = out.issues;
      if (!args) argsNote = out.issues.map((i) => i.detail).join("; ") || "not decoded";
    }
    const rh = reply?.msg.header;
    if (reply && rh?.kind === "reply") {
      if (ch?.kind === "call") {
        const out = registry.decodeReply(ch, rh, reply.bytes, limits, truncatedAt(reply));
        res = out.res;
        resIssues = out.issues;
        if (!res) resNote = out.issues.map((i) => i.detail).join("; ") || (rh.status === "SUCCESS" ? "not decoded" : "none (error reply)");
      } else resNote = "not decoded: the call is not in the capture";
    }
    return { args, res, argsNote, resNote, argsIssues, resIssues };
  }

  async detail(exchangeIndex: number): Promise<Detail> {
    const rows = this.rows;
    const row = exchangeIndex - 1;
    if (!(Number.isInteger(row) && row >= 0 && row < rows.size)) return { tree: [], bytes: [] };
    const kind = rows.kind(row);
    if (kind === "gap") {
      return { tree: [{ label: `${rows.status(row)} at frame ${rows.firstFrame(row)}: ${rows.info(row)}`, children: [] }], bytes: [] };
    }
    if (rows.libvirt(row)) return this.libvirtDetail(row);
    const names = this.options.names;
    const transport = rows.transport(row);
    const callId = rows.call(row);
    const replyId = rows.reply(row);
    const callStored = callId ? this.messages.get(callId) : null;
    const replyStored = replyId ? this.messages.get(replyId) : null;
    const call = callStored ? this.reread(callStored, transport) : null;
    const reply = replyStored ? this.reread(replyStored, transport) : null;
    const { args, res, argsNote, resNote, argsIssues, resIssues } = this.decodeBodies(call, reply);
    const tree: TreeNode[] = [];
    const bytes: DetailBytes[] = [];
    const ctx = (s: StoredMessage): MessageContext => ({
      frame: s.frame, frames: framesOf(s), transport, src: s.src, dst: s.dst,
      sport: s.sport, dport: s.dport, length: s.length, time: s.time,
    });
    const issueNodes = (s: StoredMessage, bodyIssues: readonly Issue[]): TreeNode[] => {
      const texts = issueTexts(s, bodyIssues);
      return texts.length ? [{ label: `Issues (${texts.length})`, children: texts.map((t) => ({ label: t, children: [], isError: true })), isError: true, key: "issues" }] : [];
    };
    if (call && callStored) {
      const h = call.msg.header;
      if (h?.kind === "call") tree.push(...callTree(names, ctx(callStored), h, args, argsNote));
      else tree.push({ label: `Malformed message in frame ${callStored.frame}`, children: [], isError: true });
      tree.push(...issueNodes(callStored, argsIssues));
      bytes.push({ message: "call", bytes: call.bytes, frames: framesOf(callStored) });
    }
    if (reply && replyStored) {
      const h = reply.msg.header;
      const ch = call?.msg.header;
      if (h?.kind === "reply") tree.push(...replyTree(names, ctx(replyStored), h, ch?.kind === "call" ? ch : null, res, resNote));
      tree.push(...issueNodes(replyStored, resIssues));
      bytes.push({ message: "reply", bytes: reply.bytes, frames: framesOf(replyStored) });
    } else if (kind === "unmatched-call") {
      tree.push({ label: `No reply (${rows.status(row)})`, children: [], key: "noreply" });
    }
    return { tree, bytes };
  }

  progress(): Progress {
    return { done: this.done, fraction: this.fraction, counts: { ...this.counts } };
  }

  statsLines(): readonly string[] {
    return formatStatsText(this.stats.result(), 120).split("\n");
  }

  slowRtt(): number | null {
    return this.rtts.count >= 20 ? this.rtts.percentile(95) : null;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
