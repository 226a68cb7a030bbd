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
import { decodeRpcHeader } from "../dissect/rpc-header.js";
import type { DecodedField } from "../dissect/xdr-types.js";
import type { StreamIssue } from "../dissect/rpc-pipeline.js";
import type { Issue } from "../dissect/malformed.js";
import type { AnalyzedMessage, AnalyzeHandlers } from "./analyze.js";
import type { Detail, DetailBytes, ExchangeRow, FilterResult, Progress, RowKind, TreeNode, TuiDataSource } from "./tui/data-source.js";
import { compileFilter, type CompiledFilter } from "./filter/evaluate.js";
import { FilterError } from "./filter/lexer.js";
import { bodyErrorName, type FilterSubject, type LibvirtFilterSubject, type NameLookup } from "./filter/fields.js";
import { StatsCollector, formatStatsText, RttDistribution } from "./stats.js";
import { SpillFile } from "./spill-file.js";
import { callTree, replyTree, type MessageContext } from "./detail-model.js";
import { MessageInfoContext } from "./message-info.js";
import { MessageStore, type MessageId, type StoredMessage } from "./message-store.js";

interface RowData {
  readonly index: number;
  /** libvirt rows carry a serial in `xid` and libvirt messages in call/reply. */
  readonly libvirt?: true;
  kind: RowKind;
  readonly firstFrame: number;
  readonly time: number;
  readonly transport: Transport;
  readonly xid: number | null;
  prog: number | null;
  vers: number | null;
  proc: number | null;
  status: string;
  isError: boolean;
  rtt: number | null;
  retransmits: number;
  info: string;
  call: MessageId | null;
  reply: MessageId | null;
  /** Conversation key: transport + both endpoints, order-independent. */
  readonly conversation: string;
  readonly client: string;
  readonly server: string;
}

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
  readonly msg: Pick<RpcMessage, "src" | "dst" | "sport" | "dport" | "transport" | "frame"> & {
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
 * (heap after loading 50,000 exchanges: 46.4 MB, flat 39.1 MB). The JSON round trip
 * is exact, lone surrogates included.
 */
function flatText(text: string): string {
  return text.length > 12 ? (JSON.parse(JSON.stringify(text)) as string) : text;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export class CaptureIndex implements TuiDataSource {
  readonly title: string;
  readonly live: boolean;
  private readonly rows: RowData[] = [];
  private readonly rowOfExchange = new Map<Exchange, RowData>();
  private readonly spill = new SpillFile();
  private readonly messages = new MessageStore();
  private readonly stats = new StatsCollector();
  private readonly rtts = new RttDistribution();
  private readonly listeners = new Set<() => void>();
  private readonly bodyStatusOf = new WeakMap<Exchange, string | null>();
  private readonly infoCtx = new MessageInfoContext();
  private readonly libvirtRows = new Map<LibvirtExchange, RowData>();
  private view: number[] | null = null;
  /**
   * While the view is being rebuilt (in slices), rows [0, scanned) have been
   * looked at; rows past that are left to the rebuild. Outside a rebuild, every
   * row is placed in (or taken out of) the view when it is filled in or changes.
   */
  private scanned = 0;
  private scanning = false;
  private filter: CompiledFilter | null = null;
  private conversation: string | null = null;
  private viewJob = 0;
  private done = false;
  private fraction: number | null = null;
  private counts = { exchanges: 0, errors: 0, unmatched: 0, malformed: 0, gaps: 0 };
  private notifyPending = false;

  constructor(private readonly options: CaptureIndexOptions) {
    this.title = options.title;
    this.live = options.live;
  }

  /** Handlers to pass to analyzeCapture (with decodeBodies: true). */
  handlers(): AnalyzeHandlers {
    return {
      message: (m, record) => this.onMessage(m, record),
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

  /** Strings that repeat across rows (endpoints, conversation keys), kept once. */
  private readonly interned = new Map<string, string>();
  private intern(s: string): string {
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    if (this.interned.size < 1_000_000) this.interned.set(s, s);
    return s;
  }

  private store(m: AnalyzedMessage, record: Uint8Array): MessageId {
    const issues = m.msg.issues.length || m.bodyIssues.length ? [...m.msg.issues, ...m.bodyIssues] : [];
    return this.storeRecord(m.msg, m.time, record, issues);
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

  private newRow(kind: RowKind, m: RowSource, clientIsSrc: boolean, libvirt = false): RowData {
    const msg = m.msg;
    const client = this.intern(clientIsSrc ? endpoint(msg.src, msg.sport) : endpoint(msg.dst, msg.dport));
    const server = this.intern(clientIsSrc ? endpoint(msg.dst, msg.dport) : endpoint(msg.src, msg.sport));
    const row: RowData = {
      index: this.rows.length + 1,
      kind,
      firstFrame: msg.frame,
      time: m.time,
      transport: msg.transport,
      xid: msg.header ? ("xid" in msg.header ? msg.header.xid : msg.header.serial) : null,
      prog: null,
      vers: null,
      proc: null,
      status: "",
      isError: false,
      rtt: null,
      retransmits: 0,
      info: "",
      call: null,
      reply: null,
      ...(libvirt ? { libvirt: true as const } : {}),
      conversation: this.intern(client < server ? `${msg.transport} ${client} ${server}` : `${msg.transport} ${server} ${client}`),
      client,
      server,
    };
    // Placed in the view by the caller once its fields are filled in (placeInView).
    this.rows.push(row);
    return row;
  }

  private onMessage(m: AnalyzedMessage, record: Uint8Array): void {
    const { msg } = m;
    const h = msg.header;
    // Learned in frame order from every message, retransmissions and orphans included.
    const info = h ? this.infoCtx.info(m) : "";
    if (!h) {
      const row = this.newRow("malformed", m, true);
      row.call = this.store(m, record);
      row.status = "malformed";
      row.isError = true;
      row.info = msg.issues.map((i) => i.detail).join("; ");
      this.counts.malformed++;
      this.placeInView(row);
      this.notify();
      return;
    }
    const ex = msg.exchange;
    if (h.kind === "call") {
      const known = ex ? this.rowOfExchange.get(ex) : undefined;
      if (known) {
        if (known.retransmits !== ex!.retransmits) {
          known.retransmits = ex!.retransmits;
          this.placeInView(known);
        }
        return;
      }
      const row = this.newRow("unmatched-call", m, true);
      row.prog = h.prog;
      row.vers = h.vers;
      row.proc = h.proc;
      row.call = this.store(m, record);
      row.status = "waiting";
      row.info = flatText(info);
      this.counts.exchanges++;
      if (ex) this.rowOfExchange.set(ex, row);
      this.placeInView(row);
      this.notify();
      return;
    }
    const row = ex ? this.rowOfExchange.get(ex) : undefined;
    if (!row || row.reply) {
      const orphan = this.newRow("orphan-reply", m, false);
      orphan.reply = this.store(m, record);
      orphan.status = h.status;
      orphan.isError = h.status !== "SUCCESS";
      orphan.info = "reply without a call in the capture";
      this.counts.unmatched++;
      this.placeInView(orphan);
      this.notify();
      return;
    }
    row.kind = "exchange";
    row.reply = this.store(m, record);
    row.rtt = ex!.rtt;
    const bodyStatus = bodyErrorName(m.res);
    if (ex) this.bodyStatusOf.set(ex, bodyStatus);
    row.status = h.status === "SUCCESS" && bodyStatus ? bodyStatus : h.status;
    row.isError = h.status !== "SUCCESS" || bodyStatus !== null;
    // A reply's text describes the whole exchange (the call's text plus any error).
    if (info) row.info = flatText(info);
    if (row.isError) this.counts.errors++;
    if (row.rtt !== null) this.rtts.add(row.rtt);
    this.placeInView(row);
    this.notify();
  }

  private onResolved(ex: Exchange): void {
    const row = this.rowOfExchange.get(ex);
    this.rowOfExchange.delete(ex);
    this.stats.add(ex, this.options.names, null, this.bodyStatusOf.get(ex) ?? null);
    if (row && !row.reply) {
      row.status = "no reply";
      this.counts.unmatched++;
    }
    if (row && row.retransmits !== ex.retransmits) {
      row.retransmits = ex.retransmits;
      this.placeInView(row);
    }
  }

  /** libvirt: one row per CALL (updated by its REPLY), and a row for each event or stream message. */
  private onLibvirtMessage(m: AnalyzedLibvirtMessage, bytes: Uint8Array): void {
    const { msg } = m;
    const h = msg.header;
    const stored = this.storeLibvirt(m, bytes);
    const ex = msg.exchange;
    if (h?.kind === "reply" && ex) {
      const row = this.libvirtRows.get(ex);
      this.libvirtRows.delete(ex);
      if (row && !row.reply) {
        row.kind = "exchange";
        row.reply = stored;
        row.rtt = ex.rtt;
        row.status = h.statusName;
        row.isError = h.statusName !== "OK";
        if (row.isError) {
          this.counts.errors++;
          row.info = errorMessageOf(m.body) ?? row.info;
        }
        if (row.rtt !== null) this.rtts.add(row.rtt);
        this.placeInView(row);
        this.notify();
        return;
      }
    }
    const isCall = h?.kind === "call";
    const kind: RowKind = isCall ? "unmatched-call" : h?.kind === "reply" ? "orphan-reply" : h ? "exchange" : "malformed";
    const row = this.newRow(kind, m, isCall || h?.kind !== "reply", true);
    row.prog = h ? h.prog : null;
    row.vers = h ? h.vers : null;
    row.proc = h ? h.proc : null;
    if (isCall || !h) row.call = stored;
    else row.reply = stored;
    row.status = !h ? "malformed" : isCall ? "waiting" : h.kind === "message" ? "event" : h.statusName;
    row.isError = !h || (h.kind === "reply" && h.statusName !== "OK");
    row.info = h ? `${h.typeName} serial ${h.serial}` : msg.issues.map((i) => i.detail).join("; ");
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
    if (row && !row.reply) {
      row.status = "no reply";
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
  private libvirtSubjectFor(row: RowData, withBodies: boolean): FilterSubject {
    const call = row.call ? this.rereadLibvirt(this.messages.get(row.call), row.transport) : null;
    const reply = row.reply ? this.rereadLibvirt(this.messages.get(row.reply), row.transport) : null;
    let lv: LibvirtFilterSubject;
    if (call?.msg.header?.kind === "call" || reply?.msg.header?.kind === "reply") {
      const ex: LibvirtExchange = {
        id: row.index, connId: (call ?? reply)!.msg.connId, prog: row.prog ?? 0, serial: row.xid ?? 0,
        call: call?.msg ?? null, reply: reply?.msg ?? null, rtt: row.rtt, issues: [],
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
  private libvirtDetail(row: RowData): Detail {
    const tree: TreeNode[] = [];
    const bytes: DetailBytes[] = [];
    for (const [side, id] of [["call", row.call], ["reply", row.reply]] as const) {
      if (!id) continue;
      const stored = this.messages.get(id);
      const { msg, bytes: data } = this.rereadLibvirt(stored, row.transport);
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
    const row: RowData = {
      index: this.rows.length + 1,
      kind: "gap",
      firstFrame: issue.frame,
      time: 0,
      transport: "tcp",
      xid: null,
      prog: null,
      vers: null,
      proc: null,
      status: issue.code,
      isError: issue.code !== "gap",
      rtt: null,
      retransmits: 0,
      info: issue.detail,
      call: null,
      reply: null,
      conversation: `conn ${issue.connId ?? "?"}`,
      client: "",
      server: "",
    };
    this.rows.push(row);
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
    return this.view ? this.view.length : this.rows.length;
  }

  private rowAt(position: number): RowData {
    const i = this.view ? this.view[position]! : position;
    return this.rows[i]!;
  }

  row(position: number): ExchangeRow {
    const r = this.rowAt(position);
    const names = this.options.names;
    const program = r.prog === null ? "" : `${names.programName(r.prog) ?? r.prog} v${r.vers}`;
    const procedure = r.prog === null ? "" : r.libvirt
      ? libvirtProcName(names, { prog: r.prog, vers: r.vers!, proc: r.proc! })
      : names.procedureName(r.prog, r.vers!, r.proc!);
    return {
      index: r.index,
      kind: r.kind,
      firstFrame: r.firstFrame,
      time: r.time,
      client: r.client,
      server: r.server,
      transport: r.transport,
      xid: r.xid,
      program,
      procedure,
      info: r.info,
      status: r.status,
      isError: r.isError,
      rtt: r.rtt,
      callBytes: r.call ? this.messages.length(r.call) : 0,
      replyBytes: r.reply ? this.messages.length(r.reply) : 0,
      retransmits: r.retransmits,
    };
  }

  positionOf(exchangeIndex: number): number {
    const target = exchangeIndex - 1;
    if (!this.view) return Math.min(Math.max(target, 0), this.rows.length);
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
      if (this.rowAt(p).isError) return p;
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
    this.rebuildView();
    return { ok: true };
  }

  setConversation(exchangeIndex: number | null): void {
    this.conversation = exchangeIndex === null ? null : (this.rows[exchangeIndex - 1]?.conversation ?? null);
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
      const end = Math.min(this.rows.length, this.scanned + 20_000);
      for (; this.scanned < end; this.scanned++) if (this.matchesView(this.rows[this.scanned]!)) view.push(this.scanned);
      if (this.scanned < this.rows.length) setImmediate(step);
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
  private placeInView(row: RowData): void {
    const view = this.view;
    if (!view) return;
    const i = row.index - 1;
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

  private matchesView(row: RowData): boolean {
    if (this.conversation && row.conversation !== this.conversation) return false;
    if (!this.filter) return true;
    const subject = row.libvirt ? this.libvirtSubjectFor(row, this.filter.needsBody) : this.subjectFor(row, this.filter.needsBody);
    return this.filter(subject);
  }

  /** Rebuilds just enough of the exchange from stored bytes for the filter to look at. */
  private subjectFor(row: RowData, withBodies: boolean): FilterSubject {
    const names = this.options.names;
    const call = row.call ? this.reread(this.messages.get(row.call), row.transport) : null;
    const reply = row.reply ? this.reread(this.messages.get(row.reply), row.transport) : null;
    const ex: Exchange = {
      id: row.index,
      transport: row.transport,
      xid: row.xid ?? 0,
      call: call?.msg ?? null,
      reply: reply?.msg ?? null,
      retransmits: row.retransmits,
      rtt: row.rtt,
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
    }
    return { exchange: ex, message: null, args, res, names };
  }

  private reread(stored: StoredMessage, transport: Transport): { msg: RpcMessage; bytes: Uint8Array } | null {
    const bytes = this.spill.read(stored.spillOffset, stored.stored);
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
  ): { args: DecodedField | null; res: DecodedField | null; argsNote: string | null; resNote: string | null } {
    const { registry, limits } = this.options;
    let args: DecodedField | null = null;
    let res: DecodedField | null = null;
    let argsNote: string | null = null;
    let resNote: string | null = null;
    const ch = call?.msg.header;
    const truncatedAt = (s: { msg: RpcMessage; bytes: Uint8Array }) => (s.bytes.length < s.msg.length ? s.bytes.length : undefined);
    if (call && ch?.kind === "call") {
      const out = registry.decodeCall(ch, call.bytes, limits, truncatedAt(call));
      args = out.args;
      if (!args) argsNote = out.issues.map((i) => i.detail).join("; ") || "not decoded";
    }
    const rh = reply?.msg.header;
    if (reply && rh?.kind === "reply") {
      if (ch?.kind === "call") {
        const out = registry.decodeReply(ch, rh, reply.bytes, limits, truncatedAt(reply));
        res = out.res;
        if (!res) resNote = out.issues.map((i) => i.detail).join("; ") || (rh.status === "SUCCESS" ? "not decoded" : "none (error reply)");
      } else resNote = "not decoded: the call is not in the capture";
    }
    return { args, res, argsNote, resNote };
  }

  async detail(exchangeIndex: number): Promise<Detail> {
    const row = this.rows[exchangeIndex - 1];
    if (!row) return { tree: [], bytes: [] };
    if (row.kind === "gap") {
      return { tree: [{ label: `${row.status} at frame ${row.firstFrame}: ${row.info}`, children: [] }], bytes: [] };
    }
    if (row.libvirt) return this.libvirtDetail(row);
    const names = this.options.names;
    const callStored = row.call ? this.messages.get(row.call) : null;
    const replyStored = row.reply ? this.messages.get(row.reply) : null;
    const call = callStored ? this.reread(callStored, row.transport) : null;
    const reply = replyStored ? this.reread(replyStored, row.transport) : null;
    const { args, res, argsNote, resNote } = this.decodeBodies(call, reply);
    const tree: TreeNode[] = [];
    const bytes: DetailBytes[] = [];
    const ctx = (s: StoredMessage): MessageContext => ({
      frame: s.frame, frames: framesOf(s), transport: row.transport, src: s.src, dst: s.dst,
      sport: s.sport, dport: s.dport, length: s.length, time: s.time,
    });
    const issueNodes = (s: StoredMessage): TreeNode[] =>
      s.issues.length ? [{ label: `Issues (${s.issues.length})`, children: s.issues.map((t) => ({ label: t, children: [], isError: true })), isError: true, key: "issues" }] : [];
    if (call && callStored) {
      const h = call.msg.header;
      if (h?.kind === "call") tree.push(...callTree(names, ctx(callStored), h, args, argsNote));
      else tree.push({ label: `Malformed message in frame ${callStored.frame}`, children: [], isError: true });
      tree.push(...issueNodes(callStored));
      bytes.push({ message: "call", bytes: call.bytes, frames: framesOf(callStored) });
    }
    if (reply && replyStored) {
      const h = reply.msg.header;
      const ch = call?.msg.header;
      if (h?.kind === "reply") tree.push(...replyTree(names, ctx(replyStored), h, ch?.kind === "call" ? ch : null, res, resNote));
      tree.push(...issueNodes(replyStored));
      bytes.push({ message: "reply", bytes: reply.bytes, frames: framesOf(replyStored) });
    } else if (row.kind === "unmatched-call") {
      tree.push({ label: `No reply (${row.status})`, children: [], key: "noreply" });
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
