/**
 * Buffered line output to a file descriptor: text is encoded straight into one
 * 1 MiB buffer and written when it fills, so there is no per-line join or Buffer.
 * Writes synchronously so output order is deterministic and a closed pipe
 * (`| head`) ends output quietly instead of buffering without bound.
 *
 * Hot-path lines (`summary --json`) are written piece by piece, straight into the
 * buffer: reserve(maxBytes), then ascii/int/raw, then endLine(); no string per line.
 */
import { writeSync } from "node:fs";

/** Where a line is written piece by piece (a LineWriter, or a LineBuilder for one line as a string). */
export interface BytePieces {
  /** Text known to be ASCII (numbers' digits, IP addresses, enum names, JSON punctuation). */
  ascii(text: string): void;
  /** A number as JavaScript prints it; non-negative safe integers without making a string. */
  int(value: number): void;
  /** Bytes already encoded (e.g. the cached UTF-8 of a name). */
  raw(bytes: Uint8Array): void;
  /** The same, for short constant pieces. */
  bytes(piece: Uint8Array): void;
  /** A constant piece made by constantPiece(): written eight bytes a store. */
  constant(piece: ConstantPiece): void;
  /**
   * A decimal point and the nine digits of `frac` (an integer 1 ≤ frac < 10⁹, the
   * nanoseconds of a time), leading zeros kept and trailing zeros dropped: 1603000 is ".001603".
   */
  fraction9(frac: number): void;
  /** Text of any kind, as UTF-8 (room for 3 bytes per UTF-16 unit is the caller's). */
  utf8(text: string): void;
}

/**
 * A constant piece of output (JSON keys and punctuation), held also as 8-byte words,
 * the last padded with zeros: written a word per DataView store. Counted by valgrind,
 * the five constant pieces of a JSON line cost 2,030 instructions as a byte loop,
 * 1,175 with set(), 797 as 32-bit stores and 562 as these. The words are doubles only
 * as a carrier: printable ASCII never makes a NaN's exponent (every byte is below
 * 0x7f), and any other double is loaded and stored bit for bit.
 */
export interface ConstantPiece {
  readonly bytes: Uint8Array;
  readonly words: Float64Array;
}

export function constantPiece(text: string): ConstantPiece {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`a constant piece is printable ASCII: ${JSON.stringify(text)}`);
  const bytes = Buffer.from(text, "latin1");
  const padded = new Uint8Array((bytes.length + 7) & ~7);
  padded.set(bytes);
  // Read as constant() writes them, little-endian, whatever the machine's order.
  const view = new DataView(padded.buffer);
  const words = new Float64Array(padded.length >> 3);
  for (let i = 0; i < words.length; i++) words[i] = view.getFloat64(i * 8, true);
  return { bytes, words };
}

/**
 * "00" to "99" as 16-bit words whose little-endian bytes are the two ASCII digits:
 * numbers are written two digits a division and a store.
 */
const DIGIT_PAIRS = (() => {
  const pairs = new Uint16Array(100);
  for (let i = 0; i < 100; i++) pairs[i] = (0x30 + Math.floor(i / 10)) | ((0x30 + (i % 10)) << 8);
  return pairs;
})();

/** The shared piece writers over a buffer and a position. */
abstract class PieceBuffer implements BytePieces {
  protected buf: Buffer;
  /** `buf` as a DataView, for the word stores of constant() and int(); set with it by setBuffer(). */
  protected view: DataView;
  protected pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Writes go to `buf` from now on. */
  protected setBuffer(buf: Buffer): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  ascii(text: string): void {
    const n = text.length;
    if (n > 48) {
      this.pos += this.buf.write(text, this.pos, "latin1");
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = text.charCodeAt(i);
    this.pos = pos;
  }

  int(value: number): void {
    if (value >= 0 && value < 0x8000_0000 && (value | 0) === value) {
      // The common case (frames, ports, xids below 2^31, lengths): integer arithmetic only.
      let digits = 1;
      if (value >= 10) digits = value >= 100_000 ? (value >= 10_000_000 ? (value >= 1_000_000_000 ? 10 : value >= 100_000_000 ? 9 : 8)
        : value >= 1_000_000 ? 7 : 6) : value >= 1000 ? (value >= 10_000 ? 5 : 4) : value >= 100 ? 3 : 2;
      let pos = this.pos + digits;
      this.pos = pos;
      const view = this.view;
      let v = value;
      while (v >= 100) {
        const q = (v / 100) | 0;
        pos -= 2;
        view.setUint16(pos, DIGIT_PAIRS[v - q * 100]!, true);
        v = q;
      }
      if (v >= 10) view.setUint16(pos - 2, DIGIT_PAIRS[v]!, true);
      else this.buf[pos - 1] = 0x30 + v;
      return;
    }
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER && Math.floor(value) === value)) {
      this.ascii(String(value));
      return;
    }
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    const buf = this.buf;
    let pos = this.pos + digits;
    this.pos = pos;
    let v = value;
    do {
      const q = Math.floor(v / 10);
      buf[--pos] = 0x30 + (v - q * 10);
      v = q;
    } while (v > 0);
  }

  /**
   * Bytes of a constant (pre-encoded ASCII). Only the shortest are copied by hand:
   * the loop costs about 19 instructions a byte, set() about 150 in all (counted by
   * valgrind; from 64 bytes down to 8, a JSON line took 750 instructions fewer).
   */
  bytes(piece: Uint8Array): void {
    const buf = this.buf;
    let pos = this.pos;
    const n = piece.length;
    if (n > 8) {
      buf.set(piece, pos);
      this.pos = pos + n;
      return;
    }
    for (let i = 0; i < n; i++) buf[pos++] = piece[i]!;
    this.pos = pos;
  }

  /**
   * Whole words, so up to 7 bytes past the piece are written over too: bytes past
   * `pos` that the next piece writes again. Byte by byte when the buffer ends sooner.
   */
  constant(piece: ConstantPiece): void {
    const pos = this.pos;
    const words = piece.words;
    const n = words.length;
    if (pos + 8 * n > this.buf.length) {
      this.bytes(piece.bytes);
      return;
    }
    const view = this.view;
    for (let i = 0; i < n; i++) view.setFloat64(pos + 8 * i, words[i]!, true);
    this.pos = pos + piece.bytes.length;
  }

  utf8(text: string): void {
    this.pos += this.buf.write(text, this.pos, "utf8");
  }

  fraction9(frac: number): void {
    const buf = this.buf;
    const view = this.view;
    const point = this.pos;
    let v = frac | 0;
    buf[point] = 0x2e;
    // All nine digits, right to left, two a division (int32), then the trailing zeros dropped.
    for (let i = point + 8; i > point + 1; i -= 2) {
      const q = (v / 100) | 0;
      view.setUint16(i, DIGIT_PAIRS[v - q * 100]!, true);
      v = q;
    }
    buf[point + 1] = 0x30 + v;
    let end = point + 10;
    while (buf[end - 1] === 0x30) end--;
    this.pos = end;
  }

  /**
   * `text` as a JSON string literal, when it is printable ASCII: written in one native
   * copy, then checked byte by byte, with any quote or backslash escaped in place.
   * Anything else (a control character, DEL, a non-ASCII character) writes nothing
   * and returns false. Room for 3 × length + 2 bytes is the caller's.
   */
  asciiJsonString(text: string): boolean {
    const buf = this.buf;
    const open = this.pos;
    const first = open + 1;
    const n = buf.write(text, first, "utf8");
    const end = first + n;
    let escapes = 0;
    for (let i = first; i < end; i++) {
      const b = buf[i]!;
      if (b < 0x20 || b > 0x7e) return false;
      if (b === 0x22 || b === 0x5c) escapes++;
    }
    if (n !== text.length) return false;
    if (escapes > 0) {
      // Moved right from the end, a backslash put before each quote and backslash.
      let w = end + escapes - 1;
      for (let r = end - 1; r >= first; r--) {
        const b = buf[r]!;
        buf[w--] = b;
        if (b === 0x22 || b === 0x5c) buf[w--] = 0x5c;
      }
    }
    buf[open] = 0x22;
    buf[end + escapes] = 0x22;
    this.pos = end + escapes + 1;
    return true;
  }

  raw(bytes: Uint8Array): void {
    if (bytes.length <= 64) {
      this.bytes(bytes);
      return;
    }
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

export class LineWriter extends PieceBuffer {
  closed = false;

  constructor(private readonly fd: number, size = 1 << 20) {
    super(size);
  }

  line(text: string): void {
    if (this.closed) return;
    // UTF-8 needs at most 3 bytes per UTF-16 unit; check before encoding.
    if (this.pos + text.length * 3 + 1 > this.buf.length) {
      this.flush();
      if (text.length * 3 + 1 > this.buf.length) {
        this.send(Buffer.from(text + "\n", "utf8"));
        return;
      }
    }
    this.pos += this.buf.write(text, this.pos, "utf8");
    this.buf[this.pos++] = 0x0a;
  }

  /** Makes room for a piecewise line of at most `maxBytes`; false when no line that long fits (use line()). */
  reserve(maxBytes: number): boolean {
    if (this.pos + maxBytes + 1 > this.buf.length) {
      this.flush();
      if (maxBytes + 1 > this.buf.length) return false;
    }
    return true;
  }

  /** Ends a piecewise line (after a closed pipe, the pieces are simply dropped). */
  endLine(): void {
    if (this.closed) {
      this.pos = 0;
      return;
    }
    this.buf[this.pos++] = 0x0a;
  }

  flush(): void {
    if (this.closed || this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    this.send(this.buf.subarray(0, n));
  }

  /** Writes bytes out (those of the buffer, or a line longer than it); sets `closed` when the reader is gone. */
  protected send(data: Uint8Array): void {
    if (!writeAllTo(this.fd, data)) this.closed = true;
  }
}

/**
 * Writes all of `data` to `fd` synchronously; false when the reader has gone
 * (EPIPE), so that output ends quietly.
 */
export function writeAllTo(fd: number, data: Uint8Array): boolean {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") continue;
      if (code === "EPIPE") return false;
      throw err;
    }
  }
  return true;
}

/** One piecewise line as a string (for callers that want the text, and for tests). */
export class LineBuilder extends PieceBuffer {
  constructor(maxBytes: number) {
    super(maxBytes);
  }

  text(): string {
    return this.buf.toString("utf8", 0, this.pos);
  }
}

/** A buffer pieces are written into, and how many of them are still out. */
interface Chunk {
  readonly buf: Buffer;
  /** Pieces taken from it and not recycled yet. */
  out: number;
  /** Pieces are still being written into it. */
  current: boolean;
}

/**
 * Pieces of unknown size (a decoded body as JSON) written one after another into
 * chunks; `take()` hands out what was written since the last take as a view, not
 * a copy. A chunk serves again once every piece taken from it has been recycled
 * (handed back after use), so a steady run allocates nothing: allocating and
 * copying a buffer per body once cost a twentieth of `summary --json -V` and
 * made the C heap grow.
 */
export class GrowingPieces extends PieceBuffer {
  /** Where the piece being written begins in `buf`. */
  private start = 0;
  /** `buf`'s memory as 32-bit words, for hex(). */
  private words: Uint32Array = new Uint32Array(0);
  private chunk: Chunk;
  /** Chunks no longer written into, with pieces still out. */
  private readonly retired = new Map<ArrayBufferLike, Chunk>();
  /** Chunks of the standard size with nothing out: reused before allocating. */
  private readonly spare: Buffer[] = [];

  constructor(private readonly chunkSize = 256 * 1024) {
    super(0);
    // Its own memory, never a slice of Node's shared pool: chunks are told apart by their ArrayBuffer.
    this.setBuffer(Buffer.allocUnsafeSlow(chunkSize));
    this.chunk = { buf: this.buf, out: 0, current: true };
  }

  /** Room for `n` more bytes of the piece being written (moved to a new chunk if need be). */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const written = this.pos - this.start;
    let size = this.chunkSize;
    while (size < written + n) size *= 2;
    const next = size === this.chunkSize && this.spare.length > 0 ? this.spare.pop()! : Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, this.start, this.pos);
    this.retire(this.chunk);
    this.chunk = { buf: next, out: 0, current: true };
    this.setBuffer(next);
    this.start = 0;
    this.pos = written;
  }

  private retire(chunk: Chunk): void {
    chunk.current = false;
    if (chunk.out > 0) this.retired.set(chunk.buf.buffer, chunk);
    else this.release(chunk);
  }

  private release(chunk: Chunk): void {
    if (chunk.buf.length === this.chunkSize && this.spare.length < 8) this.spare.push(chunk.buf);
  }

  /**
   * A piece from take() that is no longer needed (written out): once all pieces of
   * its chunk are back, the chunk may be written over. Pieces never handed back
   * simply keep their chunk to themselves.
   */
  recycle(piece: Uint8Array): void {
    const ab = piece.buffer;
    if (ab === this.chunk.buf.buffer) {
      this.chunk.out--;
      return;
    }
    const chunk = this.retired.get(ab);
    if (chunk === undefined) return;
    if (--chunk.out === 0) {
      this.retired.delete(ab);
      this.release(chunk);
    }
  }

  /** Text of any kind, as UTF-8. */
  override utf8(text: string): void {
    this.room(text.length * 3);
    this.pos += this.buf.write(text, this.pos, "utf8");
  }

  /** Bytes as lowercase hex digits. */
  hex(bytes: Uint8Array): void {
    const n = bytes.length;
    // 3 bytes of slack: the digits are first written at the next 4-byte boundary.
    this.room(n * 2 + 3);
    if (n >= 64 && LITTLE_ENDIAN) {
      // Bulk data (READ and WRITE payloads are most of a -V run): two bytes in, four
      // digits out as one 32-bit word stored straight into the chunk at the next
      // aligned spot, then moved back into place with one memmove if that spot is
      // not where the line stands.
      const pairs = n >> 1;
      const table = hexPairs ??= hexPairTable();
      const buf = this.buf;
      const pos = this.pos;
      // A view of the whole chunk, made once per chunk: a view per call made the loop
      // half as fast.
      if (this.words.buffer !== buf.buffer) this.words = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >> 2);
      const words = this.words;
      const alignedAt = (buf.byteOffset + pos + 3) & ~3;
      const w = alignedAt >> 2;
      const quads = pairs >> 1;
      if ((bytes.byteOffset & 3) === 0) {
        // Four bytes per load: twice the speed of 16-bit loads (measured).
        hexWordsFrom32(words, w, new Uint32Array(bytes.buffer, bytes.byteOffset, quads), table);
        if ((pairs & 1) === 1) words[w + pairs - 1] = table[bytes[n - 2 - (n & 1)]! | (bytes[n - 1 - (n & 1)]! << 8)]!;
      } else if ((bytes.byteOffset & 1) === 0) {
        hexWordsFrom16(words, w, new Uint16Array(bytes.buffer, bytes.byteOffset, pairs), table);
      } else {
        hexWordsFrom8(words, w, bytes, pairs, table);
      }
      const start = alignedAt - buf.byteOffset;
      if (start !== pos) buf.copyWithin(pos, start, start + pairs * 4);
      this.pos = pos + pairs * 4;
      if ((n & 1) === 1) this.hexByte(bytes[n - 1]!);
      return;
    }
    for (let i = 0; i < n; i++) this.hexByte(bytes[i]!);
  }

  private hexByte(b: number): void {
    this.buf[this.pos++] = HEX_DIGIT[b >> 4]!;
    this.buf[this.pos++] = HEX_DIGIT[b & 15]!;
  }

  /** Bytes of the piece being written so far. */
  get length(): number {
    return this.pos - this.start;
  }

  /** Takes back what was written after `length` was `n`. */
  truncate(n: number): void {
    if (n >= 0 && n <= this.pos - this.start) this.pos = this.start + n;
  }

  /** The piece written since the last take, as a view of its chunk (valid until recycled). */
  take(): Uint8Array {
    const piece = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    this.chunk.out++;
    return piece;
  }
}

/**
 * Texts that repeat from line to line (field, type and enum names), encoded once
 * by `encode`. Bounded: a capture cannot make it grow without end.
 */
export class EncodedCache {
  private readonly cache = new Map<string, Uint8Array>();
  constructor(private readonly encode: (text: string) => Uint8Array) {}

  get(text: string): Uint8Array {
    let bytes = this.cache.get(text);
    if (bytes === undefined) {
      bytes = this.encode(text);
      if (this.cache.size >= 4096) this.cache.clear();
      this.cache.set(text, bytes);
    }
    return bytes;
  }
}

/** Hex digits of src's 32-bit words (four bytes each, two output words), stored as words[at..]. */
function hexWordsFrom32(words: Uint32Array, at: number, src: Uint32Array, table: Uint32Array): void {
  const n = src.length;
  for (let i = 0, k = at; i < n; i++, k += 2) {
    const v = src[i]!;
    words[k] = table[v & 0xffff]!;
    words[k + 1] = table[v >>> 16]!;
  }
}

/** The same from 16-bit words (two bytes each). */
function hexWordsFrom16(words: Uint32Array, at: number, src: Uint16Array, table: Uint32Array): void {
  const n = src.length;
  for (let i = 0; i < n; i++) words[at + i] = table[src[i]!]!;
}

/** The same for bytes at an odd address (records lie anywhere in a read). */
function hexWordsFrom8(words: Uint32Array, at: number, bytes: Uint8Array, pairs: number, table: Uint32Array): void {
  for (let i = 0, j = 0; i < pairs; i++, j += 2) words[at + i] = table[bytes[j]! | (bytes[j + 1]! << 8)]!;
}

/** ASCII codes of "0123456789abcdef". */
const HEX_DIGIT = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

let hexPairs: Uint32Array | null = null;

/**
 * The four hex digits of every two bytes, as the 32-bit word whose memory holds
 * them in order (little-endian: the first byte is the low half of the index).
 * Made on first use: 65,536 entries cost every start-up 4 ms otherwise.
 */
function hexPairTable(): Uint32Array {
  const table = new Uint32Array(65536);
  for (let v = 0; v < 65536; v++) {
    const first = v & 0xff;
    const second = v >> 8;
    table[v] = (HEX_DIGIT[first >> 4]! | (HEX_DIGIT[first & 15]! << 8) | (HEX_DIGIT[second >> 4]! << 16) |
      (HEX_DIGIT[second & 15]! << 24)) >>> 0;
  }
  return table;
}
