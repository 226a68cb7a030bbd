/**
 * The TUI's exchange rows as columns: a row is an index into typed arrays, not an
 * object of its own. A capture index keeps one row per exchange for as long as the
 * TUI runs; as objects of 21 fields, with the time and rtt boxed as heap numbers,
 * they cost about 220 bytes each (heap after loading 250,000 exchanges: 46.7 MB of
 * row objects and 8.1 MB of heap numbers); as a row of these columns, about 80
 * bytes and the growth slack. Texts that repeat (statuses, endpoints, conversation
 * keys) are kept once and referred to by number.
 */
import type { Transport } from "../capture/transport.js";
import type { MessageId } from "./message-store.js";
import type { RowKind } from "./tui/data-source.js";
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
  private capacity = 0;
  private kinds = new Uint8Array(0);
  private flags = new Uint8Array(0);
  /** First frame, time, rtt (NaN: none) of each row, in turn. */
  private doubles = new Float64Array(0);
  /** xid (or libvirt serial), prog, vers, proc, retransmits, call, reply, status, conversation, client, server. */
  private words = new Uint32Array(0);
  private readonly infos: string[] = [];
  private readonly statuses: TextTable;
  private readonly endpoints: TextTable;

  /** `distinctTexts`: endpoint and conversation texts deduplicated (see TextTable). */
  constructor(distinctTexts = 1_000_000) {
    this.statuses = new TextTable(Math.min(distinctTexts, 65_536));
    this.endpoints = new TextTable(distinctTexts);
  }

  get size(): number {
    return this.count;
  }

  add(row: NewRow): RowId {
    if (this.count === this.capacity) this.grow();
    const i = this.count++;
    this.kinds[i] = KIND_CODE.get(row.kind)!;
    this.flags[i] = (row.libvirt ? LIBVIRT : 0) | (row.isError ? ERROR : 0) | (row.transport === "udp" ? UDP : 0) |
      (row.xid !== null ? HAS_XID : 0);
    const d = i * DOUBLES;
    this.doubles[d + FIRST_FRAME] = row.firstFrame;
    this.doubles[d + TIME] = row.time;
    this.doubles[d + RTT] = NaN;
    const w = i * WORDS;
    this.words[w + XID] = row.xid ?? 0;
    this.words[w + STATUS] = this.statuses.id(row.status);
    this.words[w + CONVERSATION] = row.endpoints.conversation;
    this.words[w + CLIENT] = row.endpoints.client;
    this.words[w + SERVER] = row.endpoints.server;
    this.infos.push(row.info);
    return i;
  }

  /** The texts' numbers, for add(); a caller adding many rows of one connection keeps them. */
  endpointsOf(conversation: string, client: string, server: string): RowEndpoints {
    return { conversation: this.endpoints.id(conversation), client: this.endpoints.id(client), server: this.endpoints.id(server) };
  }

  kind(i: RowId): RowKind {
    return KINDS[this.kinds[this.index(i)]!]!;
  }

  setKind(i: RowId, kind: RowKind): void {
    this.kinds[this.index(i)] = KIND_CODE.get(kind)!;
  }

  libvirt(i: RowId): boolean {
    return (this.flags[this.index(i)]! & LIBVIRT) !== 0;
  }

  transport(i: RowId): Transport {
    return (this.flags[this.index(i)]! & UDP) !== 0 ? "udp" : "tcp";
  }

  firstFrame(i: RowId): number {
    return this.doubles[this.index(i) * DOUBLES + FIRST_FRAME]!;
  }

  time(i: RowId): number {
    return this.doubles[this.index(i) * DOUBLES + TIME]!;
  }

  xid(i: RowId): number | null {
    return (this.flags[this.index(i)]! & HAS_XID) !== 0 ? this.words[i * WORDS + XID]! : null;
  }

  /** Program, version and procedure: all three or none. */
  hasProcedure(i: RowId): boolean {
    return (this.flags[this.index(i)]! & HAS_PROCEDURE) !== 0;
  }

  prog(i: RowId): number | null {
    return this.hasProcedure(i) ? this.words[i * WORDS + PROG]! : null;
  }

  vers(i: RowId): number | null {
    return this.hasProcedure(i) ? this.words[i * WORDS + VERS]! : null;
  }

  proc(i: RowId): number | null {
    return this.hasProcedure(i) ? this.words[i * WORDS + PROC]! : null;
  }

  setProcedure(i: RowId, prog: number, vers: number, proc: number): void {
    const w = this.index(i) * WORDS;
    this.words[w + PROG] = prog;
    this.words[w + VERS] = vers;
    this.words[w + PROC] = proc;
    this.flags[i] = this.flags[i]! | HAS_PROCEDURE;
  }

  status(i: RowId): string {
    return this.statuses.text(this.words[this.index(i) * WORDS + STATUS]!);
  }

  setStatus(i: RowId, status: string): void {
    this.words[this.index(i) * WORDS + STATUS] = this.statuses.id(status);
  }

  isError(i: RowId): boolean {
    return (this.flags[this.index(i)]! & ERROR) !== 0;
  }

  setError(i: RowId, isError: boolean): void {
    const f = this.flags[this.index(i)]!;
    this.flags[i] = isError ? f | ERROR : f & ~ERROR;
  }

  rtt(i: RowId): number | null {
    const r = this.doubles[this.index(i) * DOUBLES + RTT]!;
    return Number.isNaN(r) ? null : r;
  }

  setRtt(i: RowId, rtt: number | null): void {
    this.doubles[this.index(i) * DOUBLES + RTT] = rtt ?? NaN;
  }

  retransmits(i: RowId): number {
    return this.words[this.index(i) * WORDS + RETRANSMITS]!;
  }

  setRetransmits(i: RowId, n: number): void {
    this.words[this.index(i) * WORDS + RETRANSMITS] = n;
  }

  info(i: RowId): string {
    return this.infos[this.index(i)]!;
  }

  setInfo(i: RowId, info: string): void {
    this.infos[this.index(i)] = info;
  }

  call(i: RowId): MessageId | null {
    return this.words[this.index(i) * WORDS + CALL]! || null;
  }

  setCall(i: RowId, id: MessageId): void {
    this.words[this.index(i) * WORDS + CALL] = id;
  }

  reply(i: RowId): MessageId | null {
    return this.words[this.index(i) * WORDS + REPLY]! || null;
  }

  setReply(i: RowId, id: MessageId): void {
    this.words[this.index(i) * WORDS + REPLY] = id;
  }

  conversation(i: RowId): string {
    return this.endpoints.text(this.words[this.index(i) * WORDS + CONVERSATION]!);
  }

  client(i: RowId): string {
    return this.endpoints.text(this.words[this.index(i) * WORDS + CLIENT]!);
  }

  server(i: RowId): string {
    return this.endpoints.text(this.words[this.index(i) * WORDS + SERVER]!);
  }

  private index(i: RowId): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) throw new RangeError(`no row ${i}`);
    return i;
  }

  /** Half as much again each time, as the message store grows. */
  private grow(): void {
    const capacity = Math.max(1024, Math.ceil(this.capacity * 1.5));
    const kinds = new Uint8Array(capacity);
    kinds.set(this.kinds);
    const flags = new Uint8Array(capacity);
    flags.set(this.flags);
    const doubles = new Float64Array(capacity * DOUBLES);
    doubles.set(this.doubles);
    const words = new Uint32Array(capacity * WORDS);
    words.set(this.words);
    this.kinds = kinds;
    this.flags = flags;
    this.doubles = doubles;
    this.words = words;
    this.capacity = capacity;
  }
}
