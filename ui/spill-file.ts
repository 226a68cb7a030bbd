/**
 * Append-only store for record bytes on disk, so the index keeps offsets, not
 * copies: memory grows with the number of messages, not with their bytes. The file
 * is unlinked as soon as it is opened, so nothing is left behind whatever happens.
 * Works the same for files, gzip, standard input and live capture.
 *
 * A full buffer is written in the background (libuv's thread pool), so the copy
 * into the page cache runs on another core while decoding goes on: it was 5% of
 * the TUI's load on the main thread. A read is served from memory for bytes whose
 * write has not finished, from the file for the rest.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, write, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A buffer being written, and the file offset it goes to. */
interface InFlight {
  readonly buf: Buffer;
  readonly offset: number;
  readonly length: number;
}

/** fs.write's shape: a positional write that calls back when done. */
export type BackgroundWrite = (
  fd: number, buf: Buffer, offset: number, length: number, position: number,
  done: (err: NodeJS.ErrnoException | null, written: number) => void,
) => void;

/** Buffers written in the background at once; past that, appends write synchronously. */
const MAX_IN_FLIGHT = 4;
/**
 * Bytes read at once for a small read: a filter going over every row reads the
 * messages in about the order they were stored, so one read serves hundreds of
 * them (a header-only filter over 250,000 exchanges made 500,000 reads otherwise).
 */
const READ_WINDOW = 256 * 1024;

export class SpillFile {
  private readonly fd: number;
  private pending: Buffer;
  private pendingLength = 0;
  /** File offset where the pending buffer starts (everything before it is written or in flight). */
  private pendingOffset = 0;
  private readonly inFlight: InFlight[] = [];
  /** Buffers of the pending size whose writes are done, for reuse. */
  private readonly spare: Buffer[] = [];
  private failure: Error | null = null;
  /** The bytes last read ahead, from windowOffset on (stored bytes never change, so they stay right). */
  private readonly window = Buffer.allocUnsafe(READ_WINDOW);
  private windowOffset = 0;
  private windowLength = 0;
  /** close() was called: nothing is stored any more; the descriptor closes once writes end. */
  private closing = false;
  private closed = false;

  /** `backgroundWrite`: fs.write, or a stand-in (tests hold writes back to read while they are in flight). */
  constructor(private readonly bufferBytes = 1 << 20, private readonly backgroundWrite: BackgroundWrite = write) {
    const dir = mkdtempSync(join(tmpdir(), "rpcscope-"));
    const path = join(dir, "records.bin");
    this.fd = openSync(path, "w+");
    unlinkSync(path);
    rmdirSync(dir);
    this.pending = Buffer.allocUnsafe(bufferBytes);
  }

  get size(): number {
    return this.pendingOffset + this.pendingLength;
  }

  /** Background writes not finished yet. */
  get writesInFlight(): number {
    return this.inFlight.length;
  }

  /** Stores bytes and returns their offset (after close(), stores nothing: no one can read them). */
  append(bytes: Uint8Array): number {
    if (this.failure) throw this.failure;
    const offset = this.size;
    if (this.closing) return offset;
    if (bytes.length > this.pending.length - this.pendingLength) this.flush();
    if (bytes.length > this.pending.length) {
      this.writeNow(bytes, this.pendingOffset);
      this.pendingOffset += bytes.length;
    } else {
      this.pending.set(bytes, this.pendingLength);
      this.pendingLength += bytes.length;
    }
    return offset;
  }

  read(offset: number, length: number): Uint8Array {
    if (this.failure) throw this.failure;
    const end = Math.min(offset + length, this.size);
    const n = Math.max(0, end - offset);
    if (n === 0) return Buffer.alloc(0);
    if (!(offset >= this.windowOffset && end <= this.windowOffset + this.windowLength) && n <= READ_WINDOW / 4) {
      // The window counts only once it is filled: a read that fails leaves none.
      const windowLength = Math.min(READ_WINDOW, this.size - offset);
      this.windowLength = 0;
      this.readInto(this.window.subarray(0, windowLength), offset);
      this.windowOffset = offset;
      this.windowLength = windowLength;
    }
    if (offset >= this.windowOffset && end <= this.windowOffset + this.windowLength) {
      return Buffer.from(this.window.subarray(offset - this.windowOffset, end - this.windowOffset));
    }
    const out = Buffer.allocUnsafe(n);
    this.readInto(out, offset);
    return out;
  }

  /** Fills `out` with the stored bytes from `offset` on (all of them stored already). */
  private readInto(out: Buffer, offset: number): void {
    // From the file first, then laid over with what is still in memory (in flight or
    // pending): those bytes may not be in the file yet.
    let done = 0;
    while (done < out.length) {
      const got = readSync(this.fd, out, done, out.length - done, offset + done);
      if (got === 0) break;
      done += got;
    }
    for (const w of this.inFlight) copyOverlap(w.buf, w.offset, w.length, out, offset);
    copyOverlap(this.pending, this.pendingOffset, this.pendingLength, out, offset);
  }

  /** Closes the file once the writes in the background are done (its descriptor must not be reused before). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.inFlight.length === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** Hands the pending bytes to a background write (or writes them now when enough are in flight). */
  private flush(): void {
    if (this.pendingLength === 0) return;
    const buf = this.pending;
    const w: InFlight = { buf, offset: this.pendingOffset, length: this.pendingLength };
    this.pendingOffset += this.pendingLength;
    this.pendingLength = 0;
    if (this.inFlight.length >= MAX_IN_FLIGHT) {
      this.writeNow(buf.subarray(0, w.length), w.offset);
      return;
    }
    this.inFlight.push(w);
    this.pending = this.spare.pop() ?? Buffer.allocUnsafe(this.bufferBytes);
    this.writeInBackground(w, 0);
  }

  private writeInBackground(w: InFlight, from: number): void {
    this.backgroundWrite(this.fd, w.buf, from, w.length - from, w.offset + from, (err, written) => {
      if (!err && from + written < w.length) {
        this.writeInBackground(w, from + written);
        return;
      }
      if (err) this.failure ??= err;
      this.inFlight.splice(this.inFlight.indexOf(w), 1);
      if (w.buf.length === this.bufferBytes && this.spare.length < MAX_IN_FLIGHT) this.spare.push(w.buf);
      if (this.closing && this.inFlight.length === 0) this.closeNow();
    });
  }

  private writeNow(bytes: Uint8Array, offset: number): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
  }
}

/** Copies the part of `src` (holding file bytes from srcOffset, `length` of them) that overlaps `out` (file bytes from outOffset). */
function copyOverlap(src: Buffer, srcOffset: number, length: number, out: Buffer, outOffset: number): void {
  const start = Math.max(srcOffset, outOffset);
  const end = Math.min(srcOffset + length, outOffset + out.length);
  if (start < end) src.copy(out, start - outOffset, start - srcOffset, end - srcOffset);
}
