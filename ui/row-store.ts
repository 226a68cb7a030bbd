/**
 * The TUI's exchange rows as columns: a row is an index into typed arrays, not an
 * object of its own. A capture index keeps one row per exchange for as long as the
 * TUI runs; as objects of 21 fields, with the time and rtt boxed as heap numbers,
 * they cost about 220 bytes each (heap after loading 250,000 exchanges: 46.7 MB of
 * row objects and 8.1 MB of heap numbers); as a row of these columns, about 80
 * bytes, in pages (ui/paged-rows.ts). Texts that repeat (statuses, endpoints, conversation
 * keys) are kept once and referred to by number.
 */
import type { Transport } from "../capture/transport.js";
import type { MessageId } from "./message-store.js";
import type { RowKind } from "./tui/data-source.js";
import { DEFAULT_PAGE_ROWS, PagedRows } from "./paged-rows.js";
import { TextTable } from "./text-table.js";

/** A row: 0, 1, 2… in the order rows were added (its exchange number minus one). */
export type RowId = number;

const KINDS: readonly RowKind[] = ["exchange", "unmatched-call", "orphan-reply", "malformed", "gap"];
const KIND_CODE: ReadonlyMap<RowKind, number> = new Map(KINDS.map((k, i) => [k, i]));

// Bits of a row's flags.
const LIBVIRT = 1;
const ERROR = 2;
const UDP = 4;
const HAS_XID = 8;
const HAS_PROCEDURE = 16;

// Columns of the Float64Array rows (frame numbers and times may pass 2^32)…
const FIRST_FRAME = 0;
const TIME = 1;
const RTT = 2;
const DOUBLES = 3;
// …and of the Uint32Array rows (xids, serials and RPC numbers are 32-bit words;
// message ids and text ids count things a process holds).
const XID = 0;
const PROG = 1;
const VERS = 2;
const PROC = 3;
const RETRANSMITS = 4;
/** MessageId, 0 for none (ids start at 1). */
const CALL = 5;
const REPLY = 6;
const STATUS = 7;
const CONVERSATION = 8;
const CLIENT = 9;
const SERVER = 10;
const WORDS = 11;

/** What a row starts with; the rest is filled in (or changed) through the setters. */
export interface NewRow {
  readonly kind: RowKind;
  readonly libvirt: boolean;
  readonly firstFrame: number;
  readonly time: number;
  readonly transport: Transport;
  readonly xid: number | null;
  readonly status: string;
  readonly isError: boolean;
  readonly info: string;
  /** Its conversation, client and server texts, as RowStore.endpointsOf gave them. */
  readonly endpoints: RowEndpoints;
}

/** A row's conversation key (transport + both endpoints, order-independent), client and server, kept as numbers. */
export interface RowEndpoints {
  readonly conversation: number;
  readonly client: number;
  readonly server: number;
}

export class RowStore {
  private count = 0;
  private readonly kinds: PagedRows<Uint8Array>;
  private readonly flags: PagedRows<Uint8Array>;
  /** First frame, time, rtt (NaN: none) of each row. */
  private readonly doubles: PagedRows<Float64Array>;
  /** xid (or libvirt serial), prog, vers, proc, retransmits, call, reply, status, conversation, client, server. */
  private readonly words: PagedRows<Uint32Array>;
  private readonly infos: string[] = [];
  private readonly statuses: TextTable;
  private readonly endpoints: TextTable;

  /** `distinctTexts`: endpoint and conversation texts deduplicated (see TextTable); `pageRows`: see PagedRows. */
  constructor(distinctTexts = 1_000_000, pageRows = DEFAULT_PAGE_ROWS) {
    this.kinds = new PagedRows((n) => new Uint8Array(n), 1, pageRows);
    this.flags = new PagedRows((n) => new Uint8Array(n), 1, pageRows);
    this.doubles = new PagedRows((n) => new Float64Array(n), DOUBLES, pageRows);
    this.words = new PagedRows((n) => new Uint32Array(n), WORDS, pageRows);
    this.statuses = new TextTable(Math.min(distinctTexts, 65_536));
    this.endpoints = new TextTable(distinctTexts);
  }

  get size(): number {
    return this.count;
  }

  add(row: NewRow): RowId {
    const i = this.count;
    this.kinds.reserve(i);
    this.flags.reserve(i);
    this.doubles.reserve(i);
    this.words.reserve(i);
    this.count++;
    this.kinds.set(i, 0, KIND_CODE.get(row.kind)!);
    this.flags.set(i, 0, (row.libvirt ? LIBVIRT : 0) | (row.isError ? ERROR : 0) | (row.transport === "udp" ? UDP : 0) |
      (row.xid !== null ? HAS_XID : 0));
    this.doubles.set(i, FIRST_FRAME, row.firstFrame);
    this.doubles.set(i, TIME, row.time);
    this.doubles.set(i, RTT, NaN);
    this.words.set(i, XID, row.xid ?? 0);
    this.words.set(i, STATUS, this.statuses.id(row.status));
    this.words.set(i, CONVERSATION, row.endpoints.conversation);
    this.words.set(i, CLIENT, row.endpoints.client);
    this.words.set(i, SERVER, row.endpoints.server);
    this.infos.push(row.info);
    return i;
  }

  /** The texts' numbers, for add(); a caller adding many rows of one connection keeps them. */
  endpointsOf(conversation: string, client: string, server: string): RowEndpoints {
    return { conversation: this.endpoints.id(conversation), client: this.endpoints.id(client), server: this.endpoints.id(server) };
  }

  kind(i: RowId): RowKind {
    return KINDS[this.kinds.get(this.index(i), 0)]!;
  }

  setKind(i: RowId, kind: RowKind): void {
    this.kinds.set(this.index(i), 0, KIND_CODE.get(kind)!);
  }

  libvirt(i: RowId): boolean {
    return (this.flags.get(this.index(i), 0) & LIBVIRT) !== 0;
  }

  transport(i: RowId): Transport {
    return (this.flags.get(this.index(i), 0) & UDP) !== 0 ? "udp" : "tcp";
  }

  firstFrame(i: RowId): number {
    return this.doubles.get(this.index(i), FIRST_FRAME);
  }

  time(i: RowId): number {
    return this.doubles.get(this.index(i), TIME);
  }

  xid(i: RowId): number | null {
    return (this.flags.get(this.index(i), 0) & HAS_XID) !== 0 ? this.words.get(i, XID) : null;
  }

  /** Program, version and procedure: all three or none. */
  hasProcedure(i: RowId): boolean {
    return (this.flags.get(this.index(i), 0) & HAS_PROCEDURE) !== 0;
  }

  prog(i: RowId): number | null {
    return this.hasProcedure(i) ? this.words.get(i, PROG) : null;
  }

  vers(i: RowId): number | null {
    return this.hasProcedure(i) ? this.words.get(i, VERS) : null;
  }

  proc(i: RowId): number | null {
    return this.hasProcedure(i) ? this.words.get(i, PROC) : null;
  }

  setProcedure(i: RowId, prog: number, vers: number, proc: number): void {
    this.index(i);
    this.words.set(i, PROG, prog);
    this.words.set(i, VERS, vers);
    this.words.set(i, PROC, proc);
    this.flags.set(i, 0, this.flags.get(i, 0) | HAS_PROCEDURE);
  }

  status(i: RowId): string {
    return this.statuses.text(this.words.get(this.index(i), STATUS));
  }

  setStatus(i: RowId, status: string): void {
    this.words.set(this.index(i), STATUS, this.statuses.id(status));
  }

  isError(i: RowId): boolean {
    return (this.flags.get(this.index(i), 0) & ERROR) !== 0;
  }

  setError(i: RowId, isError: boolean): void {
    const f = this.flags.get(this.index(i), 0);
    this.flags.set(i, 0, isError ? f | ERROR : f & ~ERROR);
  }

  rtt(i: RowId): number | null {
    const r = this.doubles.get(this.index(i), RTT);
    return Number.isNaN(r) ? null : r;
  }

  setRtt(i: RowId, rtt: number | null): void {
    this.doubles.set(this.index(i), RTT, rtt ?? NaN);
  }

  retransmits(i: RowId): number {
    return this.words.get(this.index(i), RETRANSMITS);
  }

  setRetransmits(i: RowId, n: number): void {
    this.words.set(this.index(i), RETRANSMITS, n);
  }

  info(i: RowId): string {
    return this.infos[this.index(i)]!;
  }

  setInfo(i: RowId, info: string): void {
    this.infos[this.index(i)] = info;
  }

  call(i: RowId): MessageId | null {
    return this.words.get(this.index(i), CALL) || null;
  }

  setCall(i: RowId, id: MessageId): void {
    this.words.set(this.index(i), CALL, id);
  }

  reply(i: RowId): MessageId | null {
    return this.words.get(this.index(i), REPLY) || null;
  }

  setReply(i: RowId, id: MessageId): void {
    this.words.set(this.index(i), REPLY, id);
  }

  conversation(i: RowId): string {
    return this.endpoints.text(this.words.get(this.index(i), CONVERSATION));
  }

  client(i: RowId): string {
    return this.endpoints.text(this.words.get(this.index(i), CLIENT));
  }

  server(i: RowId): string {
    return this.endpoints.text(this.words.get(this.index(i), SERVER));
  }

  private index(i: RowId): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) throw new RangeError(`no row ${i}`);
    return i;
  }
}
