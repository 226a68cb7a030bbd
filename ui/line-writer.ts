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
}

/** The shared piece writers over a buffer and a position. */
abstract class PieceBuffer implements BytePieces {
  protected buf: Buffer;
  protected pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
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
      const buf = this.buf;
      let pos = this.pos + digits;
      this.pos = pos;
      let v = value;
      do {
        const q = (v / 10) | 0;
        buf[--pos] = 0x30 + v - q * 10;
        v = q;
      } while (v > 0);
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

  /** Bytes of a constant (pre-encoded ASCII), copied by hand: short copies cost less than set(). */
  bytes(piece: Uint8Array): void {
    const buf = this.buf;
    let pos = this.pos;
    const n = piece.length;
    if (n > 64) {
      buf.set(piece, pos);
      this.pos = pos + n;
      return;
    }
    for (let i = 0; i < n; i++) buf[pos++] = piece[i]!;
    this.pos = pos;
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
        this.writeAll(Buffer.from(text + "\n", "utf8"));
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
    this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue;
        if (code === "EPIPE") {
          this.closed = true;
          return;
        }
        throw err;
      }
    }
  }
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

/**
 * Pieces into a buffer that grows as needed (for a piece of unknown size, such
 * as a decoded body as JSON); `take()` copies out what was written and starts over.
 */
export class GrowingPieces extends PieceBuffer {
  /**
   * Buffers of large pieces handed back once written (see recycle), reused for
   * the next large pieces: allocating and freeing one per large body made the
   * C heap grow (RSS +30 MB on a 679 MB capture) and cost a page fault per page.
   */
  private readonly spare: ArrayBuffer[] = [];

  constructor(size = 4096) {
    super(size);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Powers of two from 4 KiB, so that a recycled buffer fits the next body of about its size.
    let size = 4096;
    while (size < this.pos + n) size *= 2;
    const grown = this.spareOf(size) ?? Buffer.allocUnsafeSlow(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A piece from take() that is no longer needed: its buffer may serve again. */
  recycle(piece: Uint8Array): void {
    const ab = piece.buffer;
    if (piece.byteLength < 1024 || !(ab instanceof ArrayBuffer) || ab.byteLength > 1 << 20) return;
    if (this.spare.length < 32) this.spare.push(ab);
  }

  private spareOf(size: number): Buffer | null {
    for (let i = 0; i < this.spare.length; i++) {
      const ab = this.spare[i]!;
      if (ab.byteLength < size) continue;
      this.spare[i] = this.spare[this.spare.length - 1]!;
      this.spare.pop();
      return Buffer.from(ab);
    }
    return null;
  }

  /** Text of any kind, as UTF-8. */
  utf8(text: string): void {
    this.room(text.length * 3);
    this.pos += this.buf.write(text, this.pos, "utf8");
  }

  /** Bytes as lowercase hex digits. */
  hex(bytes: Uint8Array): void {
    const n = bytes.length;
    this.room(n * 2);
    if (n >= 64 && LITTLE_ENDIAN && (bytes.byteOffset & 1) === 0) {
      // Bulk data (READ and WRITE payloads are most of a -V run): two bytes in, four
      // digits out as one 32-bit word, then one copy; three times the byte loop's speed.
      const pairs = n >> 1;
      if (hexWords.length < pairs) hexWords = new Uint32Array(Math.max(pairs, hexWords.length * 2));
      const words = hexWords;
      const src = new Uint16Array(bytes.buffer, bytes.byteOffset, pairs);
      for (let i = 0; i < pairs; i++) words[i] = HEX_PAIRS[src[i]!]!;
      this.buf.set(new Uint8Array(words.buffer, 0, pairs * 4), this.pos);
      this.pos += pairs * 4;
      if ((n & 1) === 1) this.hexByte(bytes[n - 1]!);
      return;
    }
    for (let i = 0; i < n; i++) this.hexByte(bytes[i]!);
  }

  private hexByte(b: number): void {
    this.buf[this.pos++] = HEX_DIGIT[b >> 4]!;
    this.buf[this.pos++] = HEX_DIGIT[b & 15]!;
  }

  get length(): number {
    return this.pos;
  }

  /** Takes back what was written after `length` was `n`. */
  truncate(n: number): void {
    if (n >= 0 && n <= this.pos) this.pos = n;
  }

  /**
   * The bytes written, and an empty buffer for the next piece: a small piece is
   * copied out; a large one keeps the buffer it was written in (no copy of a big
   * body) and the next piece starts in a new one.
   */
  take(): Uint8Array {
    const n = this.pos;
    this.pos = 0;
    if (n >= 1024) {
      const out = this.buf.subarray(0, n);
      this.buf = this.spareOf(4096) ?? Buffer.allocUnsafeSlow(4096);
      return out;
    }
    if (n > 64) return new Uint8Array(this.buf.subarray(0, n));
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.buf[i]!;
    return out;
  }
}

/** ASCII codes of "0123456789abcdef". */
const HEX_DIGIT = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * The four hex digits of every two bytes, as the 32-bit word whose memory holds
 * them in order (little-endian: the first byte is the low half of the index).
 */
const HEX_PAIRS = (() => {
  const table = new Uint32Array(65536);
  for (let v = 0; v < 65536; v++) {
    const first = v & 0xff;
    const second = v >> 8;
    table[v] = (HEX_DIGIT[first >> 4]! | (HEX_DIGIT[first & 15]! << 8) | (HEX_DIGIT[second >> 4]! << 16) |
      (HEX_DIGIT[second & 15]! << 24)) >>> 0;
  }
  return table;
})();

/** Scratch words for GrowingPieces.hex, grown to the largest opaque seen. */
let hexWords = new Uint32Array(1024);
