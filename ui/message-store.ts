/**
 * The TUI's stored messages as columns: a message is an id into typed arrays, not
 * an object of its own. A capture index keeps two messages per exchange for as
 * long as the TUI runs; as objects they cost about 170 bytes each (fourteen
 * fields, and the timestamps boxed as heap numbers), as a row of these columns
 * 64 bytes, in pages (ui/paged-rows.ts). StoredMessage objects are made again only where
 * a row is opened or filtered on its bytes.
 */
import { DEFAULT_PAGE_ROWS, PagedRows } from "./paged-rows.js";
import { TextTable } from "./text-table.js";

export interface StoredMessage {
  readonly frame: number;
  /** Every frame of a record that spanned several; empty for a one-frame record. */
  readonly frames: readonly number[];
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly time: number;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly connId: number | null;
  readonly length: number;
  readonly spillOffset: number;
  /** Bytes stored (less than length when the capture cut the record). */
  readonly stored: number;
  readonly issues: readonly string[];
}

/** A stored message: 1, 2, 3… (never 0, so that an id is truthy). */
export type MessageId = number;

const NO_FRAMES: readonly number[] = Object.freeze([]);
const NO_ISSUES: readonly string[] = Object.freeze([]);

// A message's numbers that may pass 2^32 (seconds in a pcapng, offsets in a spill file
// over 4 GiB, frame numbers of a long live capture, relative times) in one
// Float64Array row…
const TS_SEC = 0;
const TIME = 1;
const SPILL_OFFSET = 2;
const FRAME = 3;
const DOUBLES = 4;
// …and those that cannot (record lengths come from 31-bit marks and 32-bit libvirt
// length words, nanoseconds stay below 10^9) in one Uint32Array row.
const LENGTH = 0;
const STORED = 1;
const TS_NSEC = 2;
/** The connection's id plus one; 0 for none (UDP). */
const CONN = 3;
/** Where the message's frame list starts in the frame pool, plus one; 0 for a one-frame record. */
const FRAMES_AT = 4;
/** Source and destination address, as numbers of the address table. */
const SRC = 5;
const DST = 6;
const WORDS = 7;

export class MessageStore {
  private count = 0;
  private readonly doubles: PagedRows<Float64Array>;
  private readonly words: PagedRows<Uint32Array>;
  /** Source and destination port of each message. */
  private readonly ports: PagedRows<Uint16Array>;
  private readonly addresses = new TextTable(1_000_000);
  /**
   * The frame lists of records that spanned several frames, one after another, each
   * as its length and then its frames: a list per message as an array in a map cost
   * about 100 bytes (a READ reply over six frames), here 56.
   */
  private framePool = new Float64Array(0);
  private framePoolUsed = 0;
  /** Only the messages that have them: most have no issue. */
  private readonly issueTexts = new Map<MessageId, readonly string[]>();

  /** `pageRows`: see PagedRows. */
  constructor(pageRows = DEFAULT_PAGE_ROWS) {
    this.doubles = new PagedRows((n) => new Float64Array(n), DOUBLES, pageRows);
    this.words = new PagedRows((n) => new Uint32Array(n), WORDS, pageRows);
    this.ports = new PagedRows((n) => new Uint16Array(n), 2, pageRows);
  }

  get size(): number {
    return this.count;
  }

  add(m: StoredMessage): MessageId {
    if (!(m.length <= 0xffff_ffff && m.stored <= 0xffff_ffff)) {
      throw new RangeError(`stored message of frame ${m.frame}: length ${m.length} or ${m.stored} bytes stored do not fit 32 bits`);
    }
    const i = this.count;
    this.doubles.reserve(i);
    this.words.reserve(i);
    this.ports.reserve(i);
    this.count++;
    const id = i + 1;
    this.doubles.set(i, TS_SEC, m.tsSec);
    this.doubles.set(i, TIME, m.time);
    this.doubles.set(i, SPILL_OFFSET, m.spillOffset);
    this.doubles.set(i, FRAME, m.frame);
    this.words.set(i, LENGTH, m.length);
    this.words.set(i, STORED, m.stored);
    this.words.set(i, TS_NSEC, m.tsNsec);
    this.words.set(i, CONN, m.connId === null ? 0 : m.connId + 1);
    this.ports.set(i, 0, m.sport);
    this.ports.set(i, 1, m.dport);
    this.words.set(i, SRC, this.addresses.id(m.src));
    this.words.set(i, DST, this.addresses.id(m.dst));
    this.words.set(i, FRAMES_AT, m.frames.length > 0 ? this.poolFrames(m.frames) + 1 : 0);
    if (m.issues.length > 0) this.issueTexts.set(id, m.issues);
    return id;
  }

  /** The message's declared length (the RPC record's or libvirt message's). */
  length(id: MessageId): number {
    return this.words.get(this.index(id), LENGTH);
  }

  /** The message as an object again (for the rarely taken paths that read many fields). */
  get(id: MessageId): StoredMessage {
    const i = this.index(id);
    const conn = this.words.get(i, CONN);
    return {
      frame: this.doubles.get(i, FRAME),
      frames: this.framesAt(this.words.get(i, FRAMES_AT)),
      tsSec: this.doubles.get(i, TS_SEC),
      tsNsec: this.words.get(i, TS_NSEC),
      time: this.doubles.get(i, TIME),
      src: this.addresses.text(this.words.get(i, SRC)),
      dst: this.addresses.text(this.words.get(i, DST)),
      sport: this.ports.get(i, 0),
      dport: this.ports.get(i, 1),
      connId: conn === 0 ? null : conn - 1,
      length: this.words.get(i, LENGTH),
      spillOffset: this.doubles.get(i, SPILL_OFFSET),
      stored: this.words.get(i, STORED),
      issues: this.issueTexts.get(id) ?? NO_ISSUES,
    };
  }

  /** Appends a frame list to the pool; returns where it starts. */
  private poolFrames(frames: readonly number[]): number {
    const need = this.framePoolUsed + 1 + frames.length;
    if (need > this.framePool.length) {
      const grown = new Float64Array(Math.max(1024, need, Math.ceil(this.framePool.length * 1.5)));
      grown.set(this.framePool.subarray(0, this.framePoolUsed));
      this.framePool = grown;
    }
    const at = this.framePoolUsed;
    this.framePool[at] = frames.length;
    for (let i = 0; i < frames.length; i++) this.framePool[at + 1 + i] = frames[i]!;
    this.framePoolUsed = need;
    return at;
  }

  private framesAt(atPlusOne: number): readonly number[] {
    if (atPlusOne === 0) return NO_FRAMES;
    const at = atPlusOne - 1;
    const n = this.framePool[at]!;
    const frames = new Array<number>(n);
    for (let i = 0; i < n; i++) frames[i] = this.framePool[at + 1 + i]!;
    return frames;
  }

  private index(id: MessageId): number {
    if (!(Number.isInteger(id) && id >= 1 && id <= this.count)) throw new RangeError(`no stored message ${id}`);
    return id - 1;
  }
}
