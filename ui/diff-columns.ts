/**
 * What `diff` keeps per exchange to align two captures: a procedure id and two
 * hashes, three 32-bit numbers, in call order per conversation. Kept in memory they
 * grew by 24 MB per million exchanges compared; here a conversation keeps only its
 * newest entries in memory (a tail that grows to `blockEntries`), older ones going to
 * a temporary file in blocks, read back through a small cache. Memory then stays
 * bounded however long the captures are: the tails (within `tailBudgetBytes`), the
 * cached blocks, and two numbers per block written.
 *
 * Entries are read back in about the order they were written (the alignment walks
 * forward, stepping back a little at times), and an entry may be changed after its
 * block was written (a reply's hash, a filter's verdict), which writes those 4 bytes
 * in the file.
 *
 * Where no temporary file can be made or written (no writable TMPDIR, a full disk),
 * blocks from then on stay in memory, as everything did before, and `onFallback` is
 * told why once.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The three numbers of an entry. */
export const PROC = 0;
export const HASH_A = 1;
export const HASH_B = 2;
const FIELDS = 3;
const ENTRY_BYTES = 4 * FIELDS;
/** Entries a new conversation's tail holds before it grows. */
const FIRST_TAIL_ENTRIES = 8;
/** Blocks read back and kept at once. */
const CACHED_BLOCKS = 8;

export interface ColumnStoreOptions {
  /** Entries per block written (the most a tail holds); tests make it small. */
  readonly blockEntries?: number;
  /**
   * Bytes tails may hold together beyond their first size before every grown tail is
   * written out (a conversation's first tail is its own small, fixed cost).
   */
  readonly tailBudgetBytes?: number;
  /** Told once why blocks stay in memory (no temporary file could be made or written). */
  readonly onFallback?: (reason: string) => void;
}

export class ColumnStore {
  /** The most entries a tail, hence a block, holds. */
  readonly blockEntries: number;
  /** Entries a new (or shrunk) tail holds. */
  readonly firstTailEntries: number;
  private readonly tailBudgetBytes: number;
  private fd: number | null = null;
  private fileEnd = 0;
  /** Bytes held by tails beyond their first size now. */
  grownBytes = 0;
  /** Blocks kept in memory once the file failed (their offsets are -1, -2, …). */
  private memoryBlocks: Int32Array[] | null = null;
  private readonly onFallback: ((reason: string) => void) | undefined;
  private readonly all: Columns[] = [];
  /** Blocks read back, by blockKey (oldest first: a Map keeps insertion order). */
  private readonly cache = new Map<number, Int32Array>();
  /** The block last asked for: the alignment asks for the same one many times in a row. */
  private lastKey = -1;
  private lastData: Int32Array | null = null;
  private readonly word = new Int32Array(1);

  constructor(options: ColumnStoreOptions = {}) {
    this.blockEntries = Math.max(2, Math.floor(options.blockEntries ?? 1024));
    this.firstTailEntries = Math.min(FIRST_TAIL_ENTRIES, this.blockEntries);
    this.tailBudgetBytes = Math.max(0, options.tailBudgetBytes ?? 8 * 1024 * 1024);
    this.onFallback = options.onFallback;
  }

  /** Columns for one more conversation. */
  columns(): Columns {
    const c = new Columns(this, this.all.length);
    this.all.push(c);
    return c;
  }

  /** Bytes written to the file so far. */
  get bytesWritten(): number {
    return this.fileEnd;
  }

  /** Closes the file (it was unlinked when made: nothing is left behind). */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.cache.clear();
    this.lastKey = -1;
    this.lastData = null;
  }

  /**
   * @internal A tail grew: past the budget, every grown tail is written out and starts
   * small again (the budget then holds again: only growth counts against it).
   */
  grew(bytes: number): void {
    this.grownBytes += bytes;
    if (this.grownBytes <= this.tailBudgetBytes) return;
    for (const c of this.all) if (c.grown) c.flush(true);
  }

  /** @internal Appends a block's entries; returns where they lie: a file offset, or -1, -2… for a block kept in memory. */
  append(entries: Int32Array): number {
    if (this.memoryBlocks === null) {
      try {
        const fd = this.file();
        const at = this.fileEnd;
        const bytes = new Uint8Array(entries.buffer, entries.byteOffset, entries.byteLength);
        for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
        this.fileEnd += bytes.length;
        return at;
      } catch (err) {
        // What was written stays readable; from now on blocks stay in memory.
        this.memoryBlocks = [];
        this.onFallback?.(err instanceof Error ? err.message : String(err));
      }
    }
    this.memoryBlocks.push(entries.slice());
    return -this.memoryBlocks.length;
  }

  /** @internal A block's entries, from the cache or read back. */
  block(columns: Columns, index: number, offset: number, entries: number): Int32Array {
    if (offset < 0) return this.memoryBlocks![-offset - 1]!;
    const key = blockKey(columns, index);
    if (key === this.lastKey) return this.lastData!;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      this.lastKey = key;
      this.lastData = cached;
      return cached;
    }
    // The oldest block's buffer is reused: reading every block back (as the alignment
    // does) made 22 MB of garbage for two captures of a million exchanges, and 24 MB more peak.
    let data: Int32Array;
    if (this.cache.size >= CACHED_BLOCKS) {
      const oldest = this.cache.keys().next().value!;
      data = this.cache.get(oldest)!;
      this.cache.delete(oldest);
      if (oldest === this.lastKey) {
        this.lastKey = -1;
        this.lastData = null;
      }
    } else {
      data = new Int32Array(this.blockEntries * FIELDS);
    }
    const bytes = new Uint8Array(data.buffer, 0, entries * ENTRY_BYTES);
    for (let done = 0; done < bytes.length;) {
      const n = readSync(this.file(), bytes, done, bytes.length - done, offset + done);
      if (n === 0) throw new Error(`diff: the column file ends at ${offset + done} bytes, before block ${key}`);
      done += n;
    }
    this.cache.set(key, data);
    this.lastKey = key;
    this.lastData = data;
    return data;
  }

  /** @internal Changes one number of a written block (and of its cached copy). */
  rewrite(columns: Columns, index: number, offset: number, slot: number, value: number): void {
    if (offset < 0) {
      this.memoryBlocks![-offset - 1]![slot] = value;
      return;
    }
    this.word[0] = value;
    const bytes = new Uint8Array(this.word.buffer);
    const position = offset + slot * 4;
    for (let done = 0; done < 4;) done += writeSync(this.file(), bytes, done, 4 - done, position + done);
    // The last block asked for is in the cache, or was evicted since: update both.
    const key = blockKey(columns, index);
    const cached = this.cache.get(key);
    if (cached) cached[slot] = value;
    if (key === this.lastKey) this.lastData![slot] = value;
  }

  private file(): number {
    if (this.fd === null) {
      const dir = mkdtempSync(join(tmpdir(), "rpcscope-diff-"));
      const path = join(dir, "columns.bin");
      try {
        this.fd = openSync(path, "w+");
        unlinkSync(path);
      } finally {
        rmdirSync(dir);
      }
    }
    return this.fd;
  }
}

/** A block's number among all the store's: columns number and block number in one (no string per lookup). */
function blockKey(columns: Columns, index: number): number {
  return columns.id * 2 ** 24 + index;
}

/** One conversation's entries: get, set and push by index. */
export class Columns {
  /** Entries so far. */
  length = 0;
  /** Entries written to blocks (the first `flushed` ones). */
  private flushed = 0;
  /** Per block written: the index of its first entry, and where it lies in the file. */
  private readonly blockStarts: number[] = [];
  private readonly blockOffsets: number[] = [];
  private tail: Int32Array;

  constructor(private readonly store: ColumnStore, readonly id: number) {
    this.tail = new Int32Array(store.firstTailEntries * FIELDS);
  }

  /** @internal Whether the tail is larger than a first tail (what the budget counts). */
  get grown(): boolean {
    return this.tail.length > this.store.firstTailEntries * FIELDS;
  }

  push(proc: number, hashA: number, hashB: number): void {
    let at = (this.length - this.flushed) * FIELDS;
    if (at === this.tail.length) {
      if (this.tail.length < this.store.blockEntries * FIELDS) {
        const grown = new Int32Array(Math.min(this.tail.length * 2, this.store.blockEntries * FIELDS));
        grown.set(this.tail);
        const added = grown.byteLength - this.tail.byteLength;
        this.tail = grown;
        this.store.grew(added);
        // Growing past the budget may have written this tail out.
        at = (this.length - this.flushed) * FIELDS;
      } else {
        this.flush(false);
        at = 0;
      }
    }
    const tail = this.tail;
    tail[at] = proc;
    tail[at + 1] = hashA;
    tail[at + 2] = hashB;
    this.length++;
  }

  get(index: number, field: number): number {
    if (index >= this.flushed) return this.tail[(index - this.flushed) * FIELDS + field]!;
    const b = this.blockOf(index);
    const start = this.blockStarts[b]!;
    const end = b + 1 < this.blockStarts.length ? this.blockStarts[b + 1]! : this.flushed;
    return this.store.block(this, b, this.blockOffsets[b]!, end - start)[(index - start) * FIELDS + field]!;
  }

  set(index: number, field: number, value: number): void {
    if (index >= this.flushed) {
      this.tail[(index - this.flushed) * FIELDS + field] = value;
      return;
    }
    const b = this.blockOf(index);
    const slot = (index - this.blockStarts[b]!) * FIELDS + field;
    this.store.rewrite(this, b, this.blockOffsets[b]!, slot, value);
  }

  /** @internal Writes the tail's entries as a block; `shrink`: the tail starts small again (over budget). */
  flush(shrink: boolean): void {
    const n = this.length - this.flushed;
    if (n > 0) {
      this.blockOffsets.push(this.store.append(this.tail.subarray(0, n * FIELDS)));
      this.blockStarts.push(this.flushed);
      this.flushed = this.length;
    }
    const first = this.store.firstTailEntries;
    if (shrink && this.tail.length > first * FIELDS) {
      this.store.grownBytes -= this.tail.byteLength - first * ENTRY_BYTES;
      this.tail = new Int32Array(first * FIELDS);
    }
  }

  /** The block holding entry `index` (< flushed): the last one starting at or before it. */
  private blockOf(index: number): number {
    const starts = this.blockStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
