/**
 * Statistics behind `rpcscope stats` and the TUI statistics screen: per
 * program/version/procedure (like Wireshark's `-z rpc,srt`, plus p50/p95/p99),
 * per conversation and per client.
 *
 * Response-time percentiles: exact (nearest-rank over the sorted values) while a
 * procedure has at most `exactPercentileLimit` samples (default 10,000); beyond
 * that its samples move into a log-bucket histogram (DDSketch-style buckets
 * growing by γ = 1.01/0.99) whose estimate is within 1% of the exact
 * nearest-rank value, so memory stays fixed (~6.5 KB per procedure) however
 * many exchanges there are. Min, max and average are always exact.
 * Conversations and clients keep only counters and min/avg/max, and their
 * number is capped (exchanges beyond the cap are counted as dropped).
 *
 * libvirt (its own framing) is counted alongside: a call/reply exchange as one
 * exchange of its (program, version, procedure) row, with rtt and OK/ERROR;
 * events (MESSAGE) and stream data (STREAM, STREAM_HOLE) as counts on their
 * procedure's row, with no response time. Rows carry their protocol.
 */
import type { Exchange, LibvirtExchange, LibvirtHeader, LibvirtMessage, RpcMessage } from "../dissect/rpc-types.js";
import { libvirtClientIsSource, type NameLookup } from "./filter/fields.js";
import { libvirtProcName } from "./libvirt-format.js";
import { escapeForTerminal, jsonSafeStringify } from "./text-safety.js";

export interface StatsOptions {
  /** Samples per procedure kept exactly before switching to the histogram. */
  readonly exactPercentileLimit?: number;
  /** Conversations tracked; exchanges of further ones are counted in `dropped`. */
  readonly maxConversations?: number;
  /** Clients tracked; exchanges of further ones are counted in `dropped`. */
  readonly maxClients?: number;
}

/** Response times, in seconds. */
export interface RttSummary {
  readonly count: number;
  readonly min: number;
  readonly avg: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  /** False when the percentiles are histogram estimates (within 1%). */
  readonly exact: boolean;
}

export interface RttRange {
  readonly count: number;
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

export interface StatusCount {
  readonly status: string;
  readonly count: number;
}

export type StatsProtocol = "onc-rpc" | "libvirt";

interface Counters {
  /** Exchanges with a decoded call. */
  readonly calls: number;
  /** Exchanges with a decoded reply. */
  readonly replies: number;
  /** Replies whose RPC status is not SUCCESS or whose body status is an error. */
  readonly errors: number;
  /** Sum of Exchange.retransmits. */
  readonly retransmissions: number;
  /** Calls without a reply. */
  readonly unanswered: number;
  readonly callBytes: number;
  readonly replyBytes: number;
  /** libvirt events (MESSAGE); always 0 for ONC-RPC. */
  readonly events: number;
  /** libvirt stream data messages (STREAM, STREAM_HOLE); always 0 for ONC-RPC. */
  readonly streamMessages: number;
}

export interface ProcedureStats extends Counters {
  readonly protocol: StatsProtocol;
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** Registry name, or null when the program is unknown. */
  readonly progName: string | null;
  readonly procName: string;
  /** Non-SUCCESS RPC statuses and body error statuses (libvirt: ERROR), most frequent first. */
  readonly errorsByStatus: readonly StatusCount[];
  readonly rtt: RttSummary | null;
}

export interface ConversationStats extends Counters {
  readonly protocol: StatsProtocol;
  readonly transport: "tcp" | "udp";
  readonly client: string;
  readonly clientPort: number;
  readonly server: string;
  readonly serverPort: number;
  readonly rtt: RttRange | null;
}

export interface ClientStats extends Counters {
  readonly address: string;
  readonly rtt: RttRange | null;
}

/** The libvirt share of the totals. */
export interface LibvirtTotals extends Counters {
  readonly exchanges: number;
  /** Replies with no call on their connection (their own header names the procedure). */
  readonly unpairedReplies: number;
  readonly rtt: RttSummary | null;
}

export interface StatsReport {
  /** Both protocols together. */
  readonly totals: Counters & {
    readonly exchanges: number;
    /** Replies with no call (their program is unknown, so they are in no procedure row). */
    readonly unpairedReplies: number;
    /** Exchanges whose call or reply header could not be decoded. */
    readonly undecodedHeaders: number;
    readonly rtt: RttSummary | null;
  };
  /** libvirt alone; null when the capture held no libvirt message. */
  readonly libvirt: LibvirtTotals | null;
  /** Sorted by program, version, procedure (ONC-RPC before libvirt on a tie). */
  readonly procedures: readonly ProcedureStats[];
  /** Most calls first. */
  readonly conversations: readonly ConversationStats[];
  /** Most calls first. */
  readonly clients: readonly ClientStats[];
  /** How percentiles were computed, in words. */
  readonly percentileMethod: string;
  /** Exchanges left out of the conversation / client tables by their caps. */
  readonly dropped: { readonly conversations: number; readonly clients: number };
}

// ---------------------------------------------------------------------------
// Response-time distribution.

/** Relative accuracy of the histogram (DDSketch α). */
export const HISTOGRAM_RELATIVE_ERROR = 0.01;
const GAMMA = (1 + HISTOGRAM_RELATIVE_ERROR) / (1 - HISTOGRAM_RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);
/** Smallest value with its own bucket (1 ns); smaller ones (0, clock skew) share bucket 0. */
const HISTOGRAM_LOW = 1e-9;
/** Largest value with its own bucket (~28 hours); larger ones share the last bucket. */
const HISTOGRAM_HIGH = 1e5;
const BUCKETS = Math.ceil(Math.log(HISTOGRAM_HIGH / HISTOGRAM_LOW) / LOG_GAMMA) + 2;

/** Bucket i > 0 holds values in (LOW·γ^(i-1), LOW·γ^i]. */
function bucketOf(v: number): number {
  if (!(v > HISTOGRAM_LOW)) return 0;
  const i = Math.ceil(Math.log(v / HISTOGRAM_LOW) / LOG_GAMMA);
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

/** A value within α of every value in bucket i (i > 0): 2·LOW·γ^i / (γ + 1). */
function bucketValue(i: number): number {
  return (2 * HISTOGRAM_LOW * Math.pow(GAMMA, i)) / (GAMMA + 1);
}

export class RttDistribution {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  private exact: Float64Array | null = new Float64Array(16);
  private histogram: Uint32Array | null = null;

  constructor(private readonly exactLimit = 10_000) {}

  /**
   * Adds a sample. `bucket`: its histogram bucket when the caller knows it (another
   * distribution's add returned it), else -1. Returns the bucket used, or `bucket`
   * when the sample went into the exact list: an exchange's response time goes into
   * two distributions (the totals and its procedure), and one logarithm does for both.
   */
  add(v: number, bucket = -1): number {
    if (!Number.isFinite(v)) return bucket;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.exact) {
      if (this.count <= this.exactLimit) {
        if (this.count > this.exact.length) {
          const grown = new Float64Array(Math.min(this.exact.length * 2, Math.max(this.exactLimit, 16)));
          grown.set(this.exact);
          this.exact = grown;
        }
        this.exact[this.count - 1] = v;
        return bucket;
      }
      // Over the limit: move every sample into the histogram and drop the array.
      const h = new Uint32Array(BUCKETS);
      for (let i = 0; i < this.count - 1; i++) h[bucketOf(this.exact[i]!)]!++;
      this.histogram = h;
      this.exact = null;
    }
    const b = bucket >= 0 ? bucket : bucketOf(v);
    this.histogram![b]!++;
    return b;
  }

  get isExact(): boolean {
    return this.exact !== null;
  }

  /** Nearest-rank percentile (p in 0..100): the value at rank ⌈p/100·n⌉ of the sorted samples. */
  percentile(p: number): number {
    const n = this.count;
    if (n === 0) return Number.NaN;
    const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
    if (this.exact) return this.sortedExact()[rank - 1]!;
    const h = this.histogram!;
    let seen = 0;
    for (let i = 0; i < h.length; i++) {
      seen += h[i]!;
      if (seen >= rank) {
        if (i === 0) return this.min;
        if (i === BUCKETS - 1) return this.max;
        return Math.min(this.max, Math.max(this.min, bucketValue(i)));
      }
    }
    return this.max;
  }

  private sorted: Float64Array | null = null;
  private sortedCount = -1;

  private sortedExact(): Float64Array {
    if (this.sortedCount !== this.count || !this.sorted) {
      this.sorted = this.exact!.slice(0, this.count).sort();
      this.sortedCount = this.count;
    }
    return this.sorted;
  }

  summary(): RttSummary | null {
    if (this.count === 0) return null;
    return {
      count: this.count, min: this.min, avg: this.sum / this.count,
      p50: this.percentile(50), p95: this.percentile(95), p99: this.percentile(99),
      max: this.max, exact: this.isExact,
    };
  }
}

// ---------------------------------------------------------------------------
// Accumulators.

class Accumulator {
  calls = 0;
  replies = 0;
  errors = 0;
  retransmissions = 0;
  unanswered = 0;
  callBytes = 0;
  replyBytes = 0;
  events = 0;
  streamMessages = 0;
  rttCount = 0;
  rttSum = 0;
  rttMin = Infinity;
  rttMax = -Infinity;

  /** One exchange: `decodedCall`/`decodedReply` when that side's header was decoded. */
  count(decodedCall: boolean, decodedReply: boolean, hasCall: boolean, hasReply: boolean,
        isError: boolean, retransmits: number, rtt: number | null, callBytes: number, replyBytes: number): void {
    if (decodedCall) this.calls++;
    if (decodedReply) this.replies++;
    if (isError) this.errors++;
    this.retransmissions += retransmits;
    if (hasCall && !hasReply) this.unanswered++;
    this.callBytes += callBytes;
    this.replyBytes += replyBytes;
    if (rtt !== null && Number.isFinite(rtt)) {
      this.rttCount++;
      this.rttSum += rtt;
      if (rtt < this.rttMin) this.rttMin = rtt;
      if (rtt > this.rttMax) this.rttMax = rtt;
    }
  }

  /** One libvirt event or stream data message (no exchange, no response time). */
  countMessage(isEvent: boolean): void {
    if (isEvent) this.events++;
    else this.streamMessages++;
  }

  counters(): Counters {
    return {
      calls: this.calls, replies: this.replies, errors: this.errors, retransmissions: this.retransmissions,
      unanswered: this.unanswered, callBytes: this.callBytes, replyBytes: this.replyBytes,
      events: this.events, streamMessages: this.streamMessages,
    };
  }

  range(): RttRange | null {
    return this.rttCount === 0 ? null
      : { count: this.rttCount, min: this.rttMin, avg: this.rttSum / this.rttCount, max: this.rttMax };
  }
}

class ProcedureAccumulator extends Accumulator {
  readonly statuses = new Map<string, number>();
  readonly rtt: RttDistribution;
  constructor(
    readonly protocol: StatsProtocol, readonly prog: number, readonly vers: number, readonly proc: number,
    readonly progName: string | null, readonly procName: string, exactLimit: number,
  ) {
    super();
    this.rtt = new RttDistribution(exactLimit);
  }
}

class ConversationAccumulator extends Accumulator {
  constructor(
    readonly protocol: StatsProtocol, readonly transport: "tcp" | "udp", readonly client: string, readonly clientPort: number,
    readonly server: string, readonly serverPort: number,
  ) {
    super();
  }
}

function byCallsThenName<T extends { calls: number; key: string }>(a: T, b: T): number {
  return b.calls - a.calls || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

export class StatsCollector {
  private readonly exactLimit: number;
  private readonly maxConversations: number;
  private readonly maxClients: number;
  /** Keyed by procedureKey (a number, so adding needs no key string). */
  private readonly procedures = new Map<number, ProcedureAccumulator>();
  /** Rows whose vers or proc is too large for procedureKey (hostile or odd traffic). */
  private readonly oddProcedures = new Map<string, ProcedureAccumulator>();
  /** libvirt rows, apart: an ONC-RPC program could use the same numbers. */
  private readonly libvirtProcedures = new Map<string, ProcedureAccumulator>();
  /**
   * The rows used last, by a hash of their key, checked before the maps: a Map lookup
   * costs hundreds of instructions (a number key beyond 2^31 is hashed in C++), a
   * slot here a few comparisons. The maps stay the record of every row.
   */
  private readonly recentProcedures = new Array<ProcedureAccumulator | null>(64).fill(null);
  private readonly recentConversations = new Array<ConversationAccumulator | null>(64).fill(null);
  private lastClientAddress = "";
  private lastClient: Accumulator | null = null;
  /** client address → server address → transport and ports → row. */
  private readonly conversations = new Map<string, Map<string, Map<number, ConversationAccumulator>>>();
  private conversationCount = 0;
  private readonly clients = new Map<string, Accumulator>();
  private readonly totals = new Accumulator();
  private readonly totalRtt: RttDistribution;
  private readonly libvirtTotals = new Accumulator();
  private readonly libvirtRtt: RttDistribution;
  private libvirtSeen = false;
  private libvirtExchanges = 0;
  private libvirtUnpairedReplies = 0;
  private exchanges = 0;
  private unpairedReplies = 0;
  private undecodedHeaders = 0;
  private droppedConversations = 0;
  private droppedClients = 0;

  constructor(options: StatsOptions = {}) {
    this.exactLimit = options.exactPercentileLimit ?? 10_000;
    this.maxConversations = options.maxConversations ?? 100_000;
    this.maxClients = options.maxClients ?? 100_000;
    this.totalRtt = new RttDistribution(this.exactLimit);
    this.libvirtRtt = new RttDistribution(this.exactLimit);
  }

  /**
   * Counts one exchange, once, in its final state (reply seen, or known to be
   * unanswered). `bytes` defaults to the RPC message lengths. `bodyStatus` is
   * the body's status name when it is an error (NFS3ERR_NOENT), else null —
   * see bodyErrorName in ui/filter/fields.ts.
   */
  add(ex: Exchange, names: NameLookup, bytes?: { call: number; reply: number } | null, bodyStatus?: string | null): void {
    this.exchanges++;
    const callMsg = ex.call;
    const replyMsg = ex.reply;
    const call = callMsg?.header?.kind === "call" ? callMsg.header : null;
    const reply = replyMsg?.header?.kind === "reply" ? replyMsg.header : null;
    if ((callMsg && !call) || (replyMsg && !reply)) this.undecodedHeaders++;
    if (!callMsg && replyMsg) this.unpairedReplies++;
    const rpcError = reply !== null && reply.status !== "SUCCESS";
    const bodyError = bodyStatus !== undefined && bodyStatus !== null && bodyStatus !== "";
    const isError = rpcError || bodyError;
    const callBytes = bytes ? bytes.call : callMsg?.length ?? 0;
    const replyBytes = bytes ? bytes.reply : replyMsg?.length ?? 0;
    const hasCall = callMsg !== null;
    const hasReply = replyMsg !== null;

    const hasCallHeader = call !== null;
    const hasReplyHeader = reply !== null;
    const { retransmits, rtt } = ex;
    this.totals.count(hasCallHeader, hasReplyHeader, hasCall, hasReply, isError, retransmits, rtt, callBytes, replyBytes);
    const rttBucket = rtt !== null ? this.totalRtt.add(rtt) : -1;

    if (call) {
      const row = this.procedureRow(call.prog, call.vers, call.proc, names);
      row.count(hasCallHeader, hasReplyHeader, hasCall, hasReply, isError, retransmits, rtt, callBytes, replyBytes);
      if (rtt !== null) row.rtt.add(rtt, rttBucket);
      if (rpcError) row.statuses.set(reply.status, (row.statuses.get(reply.status) ?? 0) + 1);
      if (bodyError) row.statuses.set(bodyStatus, (row.statuses.get(bodyStatus) ?? 0) + 1);
    }

    const m: RpcMessage | null = callMsg ?? replyMsg;
    if (!m) return;
    const clientIsSrc = m === callMsg;
    const conv = this.conversationOf("onc-rpc", ex.transport, m, clientIsSrc);
    if (conv) conv.count(hasCallHeader, hasReplyHeader, hasCall, hasReply, isError, retransmits, rtt, callBytes, replyBytes);
    else this.droppedConversations++;
    const client = this.clientOf(clientIsSrc ? m.src : m.dst);
    if (client) client.count(hasCallHeader, hasReplyHeader, hasCall, hasReply, isError, retransmits, rtt, callBytes, replyBytes);
    else this.droppedClients++;
  }

  /**
   * Counts one libvirt call/reply exchange, once, in its final state (reply
   * seen, or given up). A reply without a call still names its procedure (a
   * libvirt reply header carries prog, vers and proc), so it gets a row.
   */
  addLibvirt(ex: LibvirtExchange, names: NameLookup): void {
    this.libvirtSeen = true;
    this.exchanges++;
    this.libvirtExchanges++;
    const callMsg = ex.call;
    const replyMsg = ex.reply;
    const call = callMsg?.header ?? null;
    const reply = replyMsg?.header ?? null;
    if ((callMsg && !call) || (replyMsg && !reply)) this.undecodedHeaders++;
    if (!callMsg && replyMsg) {
      this.unpairedReplies++;
      this.libvirtUnpairedReplies++;
    }
    const status = reply !== null && reply.statusName !== "OK" ? reply.statusName : null;
    const isError = status !== null;
    const hasCall = callMsg !== null;
    const hasReply = replyMsg !== null;
    const callBytes = callMsg?.length ?? 0;
    const replyBytes = replyMsg?.length ?? 0;
    const rtt = ex.rtt;
    const args = [call !== null, reply !== null, hasCall, hasReply, isError, 0, rtt, callBytes, replyBytes] as const;
    this.totals.count(...args);
    this.libvirtTotals.count(...args);
    const rttBucket = rtt !== null ? this.libvirtRtt.add(rtt, this.totalRtt.add(rtt)) : -1;
    const h = call ?? reply;
    if (h) {
      const row = this.libvirtRow(h, names);
      row.count(...args);
      if (rtt !== null) row.rtt.add(rtt, rttBucket);
      if (status !== null) row.statuses.set(status, (row.statuses.get(status) ?? 0) + 1);
    }
    const m = callMsg ?? replyMsg;
    if (!m) return;
    const clientIsSrc = libvirtClientIsSource(m);
    const conv = this.conversationOf("libvirt", m.transport, m, clientIsSrc);
    if (conv) conv.count(...args);
    else this.droppedConversations++;
    const client = this.clientOf(clientIsSrc ? m.src : m.dst);
    if (client) client.count(...args);
    else this.droppedClients++;
  }

  /**
   * Counts one libvirt message that is not part of a call/reply exchange: an
   * event (MESSAGE, keepalive PING/PONG included) or stream data (STREAM,
   * STREAM_HOLE). Calls and replies are counted by addLibvirt; a message whose
   * header could not be read counts as an undecodable header.
   */
  addLibvirtMessage(msg: LibvirtMessage, names: NameLookup): void {
    this.libvirtSeen = true;
    const h = msg.header;
    if (!h) {
      this.undecodedHeaders++;
      return;
    }
    if (h.kind !== "message" && h.kind !== "stream") return;
    const isEvent = h.kind === "message";
    this.totals.countMessage(isEvent);
    this.libvirtTotals.countMessage(isEvent);
    this.libvirtRow(h, names).countMessage(isEvent);
    const clientIsSrc = libvirtClientIsSource(msg);
    const conv = this.conversationOf("libvirt", msg.transport, msg, clientIsSrc);
    if (conv) conv.countMessage(isEvent);
    else this.droppedConversations++;
    const client = this.clientOf(clientIsSrc ? msg.src : msg.dst);
    if (client) client.countMessage(isEvent);
    else this.droppedClients++;
  }

  /** The conversation row of a message (the last one used is remembered: traffic comes in runs). */
  private conversationOf(
    protocol: StatsProtocol, transport: "tcp" | "udp",
    m: { readonly src: string; readonly dst: string; readonly sport: number; readonly dport: number }, clientIsSrc: boolean,
  ): ConversationAccumulator | null {
    const clientAddr = clientIsSrc ? m.src : m.dst;
    const clientPort = clientIsSrc ? m.sport : m.dport;
    const serverAddr = clientIsSrc ? m.dst : m.src;
    const serverPort = clientIsSrc ? m.dport : m.sport;
    const slot = (clientPort ^ serverPort) & 63;
    let conv: ConversationAccumulator | null = this.recentConversations[slot]!;
    if (conv === null || conv.clientPort !== clientPort || conv.serverPort !== serverPort ||
        conv.transport !== transport || conv.client !== clientAddr || conv.server !== serverAddr) {
      conv = this.conversationRow(protocol, transport, clientAddr, clientPort, serverAddr, serverPort);
      if (conv) this.recentConversations[slot] = conv;
    }
    return conv;
  }

  private clientOf(address: string): Accumulator | null {
    if (address === this.lastClientAddress && this.lastClient) return this.lastClient;
    let client = this.clients.get(address);
    if (!client && this.clients.size < this.maxClients) {
      client = new Accumulator();
      this.clients.set(address, client);
    }
    if (client) {
      this.lastClientAddress = address;
      this.lastClient = client;
    }
    return client ?? null;
  }

  /** Nested maps keyed by the addresses and a number for transport+ports: no key string per exchange. */
  private conversationRow(
    protocol: StatsProtocol, transport: "tcp" | "udp", clientAddr: string, clientPort: number, serverAddr: string, serverPort: number,
  ): ConversationAccumulator | null {
    let byServer = this.conversations.get(clientAddr);
    if (!byServer) this.conversations.set(clientAddr, (byServer = new Map()));
    let byPorts = byServer.get(serverAddr);
    if (!byPorts) byServer.set(serverAddr, (byPorts = new Map()));
    const portsKey = (transport === "udp" ? 2 ** 32 : 0) + (clientPort & 0xffff) * 65536 + (serverPort & 0xffff);
    let conv = byPorts.get(portsKey);
    if (!conv && this.conversationCount < this.maxConversations) {
      conv = new ConversationAccumulator(protocol, transport, clientAddr, clientPort, serverAddr, serverPort);
      byPorts.set(portsKey, conv);
      this.conversationCount++;
    }
    return conv ?? null;
  }

  private procedureRow(prog: number, vers: number, proc: number, names: NameLookup): ProcedureAccumulator {
    const slot = (prog ^ (vers << 5) ^ proc) & 63;
    const recent = this.recentProcedures[slot]!;
    if (recent !== null && recent.proc === proc && recent.vers === vers && recent.prog === prog) return recent;
    // prog < 2^32, vers and proc < 2^10 pack exactly into 52 bits; anything else takes the slow map.
    const packable = vers < 1024 && proc < 1024;
    const key = packable ? prog * 1_048_576 + vers * 1024 + proc : 0;
    const oddKey = packable ? "" : `${prog}/${vers}/${proc}`;
    let row = packable ? this.procedures.get(key) : this.oddProcedures.get(oddKey);
    if (!row) {
      row = new ProcedureAccumulator(
        "onc-rpc", prog, vers, proc, names.programName(prog) ?? null, names.procedureName(prog, vers, proc), this.exactLimit,
      );
      if (packable) this.procedures.set(key, row);
      else this.oddProcedures.set(oddKey, row);
    }
    this.recentProcedures[slot] = row;
    return row;
  }

  /** libvirt traffic is far lighter than NFS's: a string key per message is fine here. */
  private libvirtRow(h: Pick<LibvirtHeader, "prog" | "vers" | "proc">, names: NameLookup): ProcedureAccumulator {
    const key = `${h.prog}/${h.vers}/${h.proc}`;
    let row = this.libvirtProcedures.get(key);
    if (!row) {
      row = new ProcedureAccumulator(
        "libvirt", h.prog, h.vers, h.proc, names.programName(h.prog) ?? null, libvirtProcName(names, h), this.exactLimit,
      );
      this.libvirtProcedures.set(key, row);
    }
    return row;
  }

  result(): StatsReport {
    const procedures: ProcedureStats[] = [];
    let allExact = this.totalRtt.isExact;
    const rows = [...this.procedures.values(), ...this.oddProcedures.values(), ...this.libvirtProcedures.values()]
      .sort((a, b) => a.prog - b.prog || a.vers - b.vers || a.proc - b.proc ||
        (a.protocol === b.protocol ? 0 : a.protocol === "onc-rpc" ? -1 : 1));
    for (const r of rows) {
      if (!r.rtt.isExact) allExact = false;
      procedures.push({
        protocol: r.protocol, prog: r.prog, vers: r.vers, proc: r.proc, progName: r.progName, procName: r.procName, ...r.counters(),
        errorsByStatus: [...r.statuses].map(([status, count]) => ({ status, count }))
          .sort((a, b) => b.count - a.count || (a.status < b.status ? -1 : 1)),
        rtt: r.rtt.summary(),
      });
    }
    const conversationRows: ConversationAccumulator[] = [];
    for (const byServer of this.conversations.values()) {
      for (const byPorts of byServer.values()) for (const c of byPorts.values()) conversationRows.push(c);
    }
    const conversations = conversationRows.map((c) => ({
      key: `${c.transport} ${endpointText(c.client, c.clientPort)} ${endpointText(c.server, c.serverPort)}`, calls: c.calls,
      stats: {
        protocol: c.protocol, transport: c.transport, client: c.client, clientPort: c.clientPort, server: c.server, serverPort: c.serverPort,
        ...c.counters(), rtt: c.range(),
      } satisfies ConversationStats,
    })).sort(byCallsThenName).map((x) => x.stats);
    const clients = [...this.clients].map(([key, c]) => ({
      key, calls: c.calls, stats: { address: key, ...c.counters(), rtt: c.range() } satisfies ClientStats,
    })).sort(byCallsThenName).map((x) => x.stats);
    return {
      totals: {
        exchanges: this.exchanges, ...this.totals.counters(), unpairedReplies: this.unpairedReplies,
        undecodedHeaders: this.undecodedHeaders, rtt: this.totalRtt.summary(),
      },
      libvirt: this.libvirtSeen
        ? {
          exchanges: this.libvirtExchanges, ...this.libvirtTotals.counters(), unpairedReplies: this.libvirtUnpairedReplies,
          rtt: this.libvirtRtt.summary(),
        }
        : null,
      procedures, conversations, clients,
      percentileMethod: allExact
        ? "exact (nearest rank)"
        : `exact up to ${this.exactLimit} samples per row, then a log-bucket histogram (within ${HISTOGRAM_RELATIVE_ERROR * 100}%)`,
      dropped: { conversations: this.droppedConversations, clients: this.droppedClients },
    };
  }
}

// ---------------------------------------------------------------------------
// Output.

interface Column {
  readonly header: string;
  readonly align: "left" | "right";
  /** Lower is dropped first when the table is too wide; 0 never dropped. */
  readonly keep: number;
  /** Left columns that may be shortened (with '…') instead of dropping others. */
  readonly shrinkable?: boolean;
}

function ms(seconds: number | undefined): string {
  return seconds === undefined || !Number.isFinite(seconds) ? "-" : (seconds * 1000).toFixed(3);
}

function truncate(s: string, width: number): string {
  return s.length <= width ? s : width <= 1 ? "…".slice(0, width) : `${s.slice(0, width - 1)}…`;
}

/** An aligned table that fits `width`: low-priority columns go first, then names shrink. */
function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], width: number): string[] {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i]!.length)));
  const shown = columns.map(() => true);
  const total = (): number => widths.reduce((sum, w, i) => sum + (shown[i] ? w + 2 : 0), -2);
  const order = columns.map((c, i) => ({ keep: c.keep, i })).filter((x) => x.keep > 0)
    .sort((a, b) => a.keep - b.keep || b.i - a.i);
  for (const { i } of order) {
    if (total() <= width) break;
    shown[i] = false;
  }
  for (let i = 0; i < columns.length && total() > width; i++) {
    if (!columns[i]!.shrinkable) continue;
    const minimum = Math.max(columns[i]!.header.length, 6);
    widths[i] = Math.max(minimum, widths[i]! - (total() - width));
  }
  const line = (cells: readonly string[]): string => {
    const parts: string[] = [];
    for (let i = 0; i < columns.length; i++) {
      if (!shown[i]) continue;
      const text = truncate(cells[i]!, widths[i]!);
      parts.push(columns[i]!.align === "left" ? text.padEnd(widths[i]!) : text.padStart(widths[i]!));
    }
    return parts.join("  ").trimEnd();
  };
  return [line(columns.map((c) => c.header)), ...rows.map(line)];
}

const COUNTER_COLUMNS: readonly Column[] = [
  { header: "Calls", align: "right", keep: 0 },
  { header: "Replies", align: "right", keep: 4 },
  { header: "Errors", align: "right", keep: 0 },
  { header: "Retrans", align: "right", keep: 3 },
  { header: "Unans", align: "right", keep: 3 },
];

/** Shown only when the capture held libvirt messages. */
const MESSAGE_COLUMNS: readonly Column[] = [
  { header: "Events", align: "right", keep: 5 },
  { header: "Streams", align: "right", keep: 3 },
];

function counterCells(c: Counters, withRetrans = true): string[] {
  return withRetrans
    ? [String(c.calls), String(c.replies), String(c.errors), String(c.retransmissions), String(c.unanswered)]
    : [String(c.calls), String(c.replies), String(c.errors), String(c.unanswered)];
}

/** libvirt runs over TCP only and has no retransmissions: a libvirt-only report leaves the column out. */
const COUNTER_COLUMNS_NO_RETRANS: readonly Column[] = COUNTER_COLUMNS.filter((c) => c.header !== "Retrans");

/** Wireshark-like text tables (service response time per procedure, then conversations, clients). */
export function formatStatsText(report: StatsReport, width = 120): string {
  const t = report.totals;
  const lv = report.libvirt;
  const out: string[] = [];
  // A capture without libvirt reads exactly as before libvirt was counted.
  const onlyLibvirt = lv !== null && t.exchanges === lv.exchanges;
  const label = lv === null ? "ONC-RPC" : onlyLibvirt ? "libvirt" : "ONC-RPC and libvirt";
  const messages = (c: Counters): string =>
    (c.events ? `, ${c.events} events` : "") + (c.streamMessages ? `, ${c.streamMessages} stream messages` : "");
  out.push(
    `${label} statistics: ${t.exchanges} exchanges, ${t.calls} calls, ${t.replies} replies, ${t.errors} errors, ` +
      (onlyLibvirt ? "" : `${t.retransmissions} retransmissions, `) + `${t.unanswered} unanswered` +
      (t.unpairedReplies ? `, ${t.unpairedReplies} replies without a call` : "") +
      (t.undecodedHeaders ? `, ${t.undecodedHeaders} with an undecodable header` : "") +
      messages(t),
  );
  if (lv !== null && !onlyLibvirt) {
    out.push(
      `  of which libvirt: ${lv.exchanges} exchanges, ${lv.calls} calls, ${lv.replies} replies, ${lv.errors} errors, ` +
        `${lv.unanswered} unanswered` + (lv.unpairedReplies ? `, ${lv.unpairedReplies} replies without a call` : "") + messages(lv),
    );
  }
  out.push(`Response times in milliseconds; percentiles: ${report.percentileMethod}`);
  const counterColumns = onlyLibvirt ? COUNTER_COLUMNS_NO_RETRANS : COUNTER_COLUMNS;
  const counters = (c: Counters): string[] => counterCells(c, !onlyLibvirt);
  out.push("");
  out.push("Service response time by procedure");
  const procColumns: readonly Column[] = [
    { header: "Program", align: "left", keep: 0, shrinkable: true },
    { header: "Vers", align: "right", keep: 0 },
    { header: "Procedure", align: "left", keep: 0, shrinkable: true },
    ...counterColumns,
    ...(lv ? MESSAGE_COLUMNS : []),
    { header: "Min", align: "right", keep: 2 },
    { header: "Avg", align: "right", keep: 5 },
    { header: "P50", align: "right", keep: 7 },
    { header: "P95", align: "right", keep: 7 },
    { header: "P99", align: "right", keep: 7 },
    { header: "Max", align: "right", keep: 6 },
    { header: "Call bytes", align: "right", keep: 1 },
    { header: "Reply bytes", align: "right", keep: 1 },
  ];
  const messageCells = (c: Counters): string[] => (lv ? [String(c.events), String(c.streamMessages)] : []);
  const procRows = report.procedures.map((p) => [
    escapeForTerminal(p.progName ?? String(p.prog)), String(p.vers), escapeForTerminal(p.procName),
    ...counters(p), ...messageCells(p),
    ms(p.rtt?.min), ms(p.rtt?.avg), ms(p.rtt?.p50), ms(p.rtt?.p95), ms(p.rtt?.p99), ms(p.rtt?.max),
    String(p.callBytes), String(p.replyBytes),
  ]);
  procRows.push([
    "All", "", "", ...counters(t), ...messageCells(t),
    ms(t.rtt?.min), ms(t.rtt?.avg), ms(t.rtt?.p50), ms(t.rtt?.p95), ms(t.rtt?.p99), ms(t.rtt?.max),
    String(t.callBytes), String(t.replyBytes),
  ]);
  out.push(...renderTable(procColumns, procRows, width));

  const withErrors = report.procedures.filter((p) => p.errorsByStatus.length > 0);
  if (withErrors.length > 0) {
    out.push("", "Errors by status");
    const rows: string[][] = [];
    for (const p of withErrors) {
      for (const e of p.errorsByStatus) {
        rows.push([escapeForTerminal(p.progName ?? String(p.prog)), String(p.vers), escapeForTerminal(p.procName),
          escapeForTerminal(e.status), String(e.count)]);
      }
    }
    out.push(...renderTable([
      { header: "Program", align: "left", keep: 0, shrinkable: true },
      { header: "Vers", align: "right", keep: 0 },
      { header: "Procedure", align: "left", keep: 0, shrinkable: true },
      { header: "Status", align: "left", keep: 0, shrinkable: true },
      { header: "Count", align: "right", keep: 0 },
    ], rows, width));
  }

  const rangeColumns: readonly Column[] = [
    { header: "Min", align: "right", keep: 2 },
    { header: "Avg", align: "right", keep: 5 },
    { header: "Max", align: "right", keep: 6 },
    { header: "Call bytes", align: "right", keep: 1 },
    { header: "Reply bytes", align: "right", keep: 1 },
  ];
  const rangeCells = (r: RttRange | null, c: Counters): string[] =>
    [ms(r?.min), ms(r?.avg), ms(r?.max), String(c.callBytes), String(c.replyBytes)];

  if (report.conversations.length > 0) {
    out.push("", "Conversations");
    out.push(...renderTable([
      { header: "Proto", align: "left", keep: 0 },
      { header: "Client", align: "left", keep: 0, shrinkable: true },
      { header: "Server", align: "left", keep: 0, shrinkable: true },
      ...counterColumns, ...rangeColumns,
    ], report.conversations.map((c) => [
      c.transport, escapeForTerminal(endpointText(c.client, c.clientPort)), escapeForTerminal(endpointText(c.server, c.serverPort)),
      ...counters(c), ...rangeCells(c.rtt, c),
    ]), width));
    if (report.dropped.conversations) out.push(`(${report.dropped.conversations} exchanges of further conversations not listed)`);
  }
  if (report.clients.length > 0) {
    out.push("", "Clients");
    out.push(...renderTable([
      { header: "Client", align: "left", keep: 0, shrinkable: true },
      ...counterColumns, ...rangeColumns,
    ], report.clients.map((c) => [escapeForTerminal(c.address), ...counters(c), ...rangeCells(c.rtt, c)]), width));
    if (report.dropped.clients) out.push(`(${report.dropped.clients} exchanges of further clients not listed)`);
  }
  return `${out.join("\n")}\n`;
}

function endpointText(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * The report as JSON text (times in seconds; names escaped as everywhere, and
 * no raw control characters in the output). `space` as for JSON.stringify.
 */
export function statsToJson(report: StatsReport, space?: number): string {
  return jsonSafeStringify(statsToJsonValue(report), space);
}

/** The report as a plain JSON-ready object (schema version 1). */
export function statsToJsonValue(report: StatsReport): unknown {
  const esc = escapeForTerminal;
  return {
    version: 1,
    percentileMethod: report.percentileMethod,
    totals: report.totals,
    libvirt: report.libvirt,
    procedures: report.procedures.map((p) => ({
      ...p, progName: p.progName === null ? null : esc(p.progName), procName: esc(p.procName),
      errorsByStatus: p.errorsByStatus.map((e) => ({ status: esc(e.status), count: e.count })),
    })),
    conversations: report.conversations.map((c) => ({ ...c, client: esc(c.client), server: esc(c.server) })),
    clients: report.clients.map((c) => ({ ...c, address: esc(c.address) })),
    dropped: report.dropped,
  };
}
