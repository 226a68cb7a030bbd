/**
 * Streaming capture readers: a file, standard input ("-") or any readable stream,
 * pcap or pcapng, optionally gzip-compressed (detected by the 1f 8b magic). Memory
 * stays flat: input is read in large chunks and frames are views into them.
 *
 * Truncation contract: a capture that ends inside a record yields every complete
 * frame first; then, unless `onTruncated` is given, the generator throws a
 * CaptureTruncatedError (a CaptureError whose `completeFrames` says how many frames
 * came before the cut). With `onTruncated` the error is handed to it and the
 * generator ends normally. Other CaptureErrors (bad magic, bad block) are thrown,
 * also after every frame before the bad spot was yielded.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { CaptureError, type Frame } from "./frame.js";
import { CaptureTruncatedError, FrameParser } from "./capture-format.js";

const loadBuiltin = createRequire(import.meta.url);

export { FrameParser, CaptureTruncatedError, MAX_PACKET_BYTES, MAX_PCAPNG_BLOCK_BYTES } from "./capture-format.js";
export type { CaptureFormat, CaptureInterface } from "./capture-format.js";

export type CaptureSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "stdin" }
  | { readonly kind: "stream"; readonly stream: NodeJS.ReadableStream; readonly name: string };

export interface ReadFramesOptions {
  /** Called after each chunk read: input bytes so far (compressed bytes for gzip) and the file size when known. */
  onProgress?(bytesRead: number, totalBytes: number | null): void;
  /** When given, a capture cut inside a record is reported here instead of being thrown. */
  onTruncated?(error: CaptureTruncatedError): void;
  /** Read size; default 2 MiB for files. */
  chunkSize?: number;
  /**
   * Read size of an uncompressed file only (before chunkSize when read ahead, before
   * THIS_THREAD_READ_BYTES on this thread); gzip and stdin reads keep theirs.
   */
  fileChunkSize?: number;
  /**
   * Read an uncompressed file on the calling thread (readSync), THIS_THREAD_READ_BYTES
   * at a time, instead of ahead on libuv's thread pool. The thread is blocked for
   * each read (about 20 µs for 128 KiB from the page cache); with `between`, the event
   * loop gets its turn after each piece. Gzip, stdin and streams are read as before.
   */
  readOnThisThread?: boolean;
}

/**
 * Bytes per read of an uncompressed file (two buffers, the next read in flight).
 * Measured alternately on the bench capture (2026-12-07): `stats` took 0.70–0.77 s
 * with 2 MiB reads against 0.74–0.81 s with 4 MiB (CPU 0.90–1.08 s against 1.00–1.21 s);
 * 8 and 16 MiB were slower again, 256 KiB slower still; `summary --json` the same
 * within the noise from 512 KiB to 4 MiB.
 */
const DEFAULT_CHUNK_BYTES = 2 * 1024 * 1024;
/**
 * Bytes per read on the calling thread (readOnThisThread). The kernel's copy from
 * the page cache is fast while its destination stays in the core's 512 KiB L2:
 * reading the 695.7 MB bench capture with readSync took 95–125 ms in 64 and
 * 128 KiB reads, 380–480 ms in 192 KiB to 4 MiB ones (2026-12-08). Read on the
 * thread that parses them, the bytes are still in that core's cache when the
 * frames' headers are read: every frame of that capture through eachFrame took
 * 214–241 ms in 128 KiB reads, 278–288 ms in 64 KiB, 549–575 ms in 256 KiB, and
 * 575–695 ms read ahead on libuv's thread in 2 MiB reads (the old default).
 */
const THIS_THREAD_READ_BYTES = 128 * 1024;
/**
 * Decompressed bytes per chunk, and compressed bytes per read of a gzip file. Each
 * output chunk is a new buffer, freed outside the JavaScript heap: with 1 MiB
 * chunks and 4 MiB reads `summary` of the gzipped bench capture peaked at 134–159 MB
 * (123–129 MB uncompressed); with 256 KiB for both, 113–120 MB at the same speed
 * (64 KiB was 15% slower).
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024;
const COMPRESSED_CHUNK_BYTES = 256 * 1024;

/** A readable name for messages: the path, "standard input" or the stream's name. */
export function describeSource(source: CaptureSource): string {
  return source.kind === "file" ? source.path : source.kind === "stdin" ? "standard input" : source.name;
}

/**
 * A plain Uint8Array view of a Buffer (no copy). Frames must not be Buffers: a
 * consumer that keeps bytes copies them with slice(), which on a Buffer is a view.
 */
function plain(chunk: Uint8Array): Uint8Array {
  return Buffer.isBuffer(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk;
}

async function* rawChunks(source: CaptureSource, options: ReadFramesOptions): AsyncGenerator<Uint8Array> {
  let stream: NodeJS.ReadableStream;
  let total: number | null = null;
  if (source.kind === "file") {
    const info = await stat(source.path);
    if (info.isFile()) total = info.size;
    stream = createReadStream(source.path, { highWaterMark: options.chunkSize ?? DEFAULT_CHUNK_BYTES });
  } else if (source.kind === "stdin") {
    stream = process.stdin;
  } else {
    stream = source.stream;
  }
  let read = 0;
  for await (const piece of stream) {
    const chunk = typeof piece === "string" ? Buffer.from(piece, "latin1") : piece;
    if (chunk.length === 0) continue;
    read += chunk.length;
    options.onProgress?.(read, total);
    yield plain(chunk);
  }
}

/**
 * Whether the path is a regular file that does not start with the gzip magic: one to
 * read in place, with reads at known offsets. A pipe, FIFO or device (`rpcscope
 * <(tcpdump -w - …)`) is not: it is read as a stream, its magic looked for in the
 * stream, as standard input is. It is not opened here: a reader that opens a FIFO
 * and closes it again leaves its writer without a reader, and the writer is killed
 * by SIGPIPE on its next write.
 */
async function isPlainRegularFile(path: string): Promise<boolean> {
  return (await stat(path)).isFile() && !(await startsWithGzipMagic(path));
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * An uncompressed file read into two buffers used in turn, so a large capture does
 * not allocate a new chunk per read. The next read is started before the current
 * chunk is handed out, so the disk (or page cache copy) works while frames are
 * decoded. Safe because frames are only valid while their batch is handled (a
 * buffer is refilled only after the consumer asked for the next chunk), and the
 * parser copies a record that straddles two chunks.
 */
async function* fileChunksReused(path: string, options: ReadFramesOptions): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  let inFlight: Promise<{ bytesRead: number }> | null = null;
  try {
    const info = await fh.stat();
    const total = info.isFile() ? info.size : null;
    const size = options.fileChunkSize ?? options.chunkSize ?? DEFAULT_CHUNK_BYTES;
    const buffers = [new Uint8Array(size), new Uint8Array(size)];
    let turn = 0;
    let read = 0;
    inFlight = fh.read(buffers[0]!, 0, size, null);
    for (;;) {
      const buf = buffers[turn]!;
      const { bytesRead } = await inFlight;
      inFlight = null;
      if (bytesRead === 0) return;
      turn ^= 1;
      // Reads without a position continue where the previous one ended, so issuing
      // this one now keeps the file order (a short read is not taken to mean the end:
      // the path may be a pipe).
      inFlight = fh.read(buffers[turn]!, 0, size, null);
      read += bytesRead;
      options.onProgress?.(read, total);
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    // A consumer that stops early leaves a read running; let it end before closing.
    if (inFlight) await inFlight.catch(() => undefined);
    await fh.close();
  }
}

/**
 * An uncompressed file read on this thread into one buffer, refilled by each
 * next() (the contract fileChunksReused keeps too: a chunk is valid until the next
 * is asked for, and the parser copies a record that straddles two chunks).
 */
class ThisThreadFileReader {
  private readonly fd: number;
  private readonly buf: Uint8Array;
  private readonly total: number | null;
  private read = 0;

  constructor(path: string, private readonly options: ReadFramesOptions) {
    this.fd = openSync(path, "r");
    try {
      const info = fstatSync(this.fd);
      this.total = info.isFile() ? info.size : null;
      this.buf = new Uint8Array(options.fileChunkSize ?? THIS_THREAD_READ_BYTES);
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /** The next chunk, or null at the end (a short read is not taken to mean the end: the path may be a pipe). */
  next(): Uint8Array | null {
    const size = this.buf.length;
    const bytesRead = readSync(this.fd, this.buf, 0, size, null);
    if (bytesRead === 0) return null;
    this.read += bytesRead;
    this.options.onProgress?.(this.read, this.total);
    return bytesRead === size ? this.buf : this.buf.subarray(0, bytesRead);
  }

  close(): void {
    closeSync(this.fd);
  }
}

async function* fileChunksOnThisThread(path: string, options: ReadFramesOptions): AsyncGenerator<Uint8Array> {
  const reader = new ThisThreadFileReader(path, options);
  try {
    for (let chunk = reader.next(); chunk !== null; chunk = reader.next()) yield chunk;
  } finally {
    reader.close();
  }
}

async function* replay(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

/**
 * The capture's bytes, decompressed when they start with the gzip magic. A gzip
 * stream that is cut off or corrupt ends in a CaptureError (CaptureTruncatedError
 * for a cut) after all bytes that could be decompressed.
 */
export async function* captureBytes(source: CaptureSource, options: ReadFramesOptions = {}): AsyncGenerator<Uint8Array> {
  if (source.kind === "file" && (await isPlainRegularFile(source.path))) {
    yield* options.readOnThisThread ? fileChunksOnThisThread(source.path, options) : fileChunksReused(source.path, options);
    return;
  }
  const input = rawChunks(source, { ...options, chunkSize: options.chunkSize ?? COMPRESSED_CHUNK_BYTES });
  // Collect at least two bytes to look for the gzip magic (stdin may deliver one byte).
  let head: Uint8Array = new Uint8Array(0);
  while (head.length < 2) {
    const next = await input.next();
    if (next.done) break;
    head = head.length === 0 ? next.value : plain(Buffer.concat([head, next.value]));
  }
  if (head.length === 0) return;
  if (!(head[0] === 0x1f && head[1] === 0x8b)) {
    yield head;
    yield* input;
    return;
  }
  // Loaded only for gzip input: node's zlib and stream modules cost every other run ~3 ms of start-up.
  // (By require, not import(): the built CLI runs as a script, which has no import(); ui/rpcscope.cts.)
  const { createGunzip } = loadBuiltin("node:zlib") as typeof import("node:zlib");
  const { Readable } = loadBuiltin("node:stream") as typeof import("node:stream");
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  const compressed = Readable.from(replay(head, input), { objectMode: false });
  compressed.on("error", (err) => gunzip.destroy(err));
  compressed.pipe(gunzip);
  let produced = 0;
  try {
    for await (const out of gunzip as AsyncIterable<Buffer>) {
      produced += out.length;
      yield plain(out);
    }
  } catch (err) {
    if (err instanceof CaptureError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === "Z_BUF_ERROR") {
      throw new CaptureTruncatedError(produced, `gzip data is cut short after ${produced} decompressed bytes`, -1);
    }
    if (typeof code === "string" && code.startsWith("Z_")) {
      throw new CaptureError(produced, `corrupt gzip data after ${produced} decompressed bytes: ${(err as Error).message}`);
    }
    throw err;
  } finally {
    compressed.destroy();
  }
}

/**
 * Input bytes per batch of frames. A batch's Frame objects live until the whole
 * batch is handled; with a 4 MiB read as one batch, decoding bodies allocated more
 * than the young generation holds before the batch was done, so every frame object
 * was promoted to the old generation and left there as garbage (text -V peaked at
 * 160+ MB RSS). A record straddling two batches is copied, as across reads.
 */
const BATCH_BYTES = 256 * 1024;

/**
 * The capture's bytes in slices of at most `sliceBytes`, each handed to `parse` with
 * one parser for the whole capture, yielding what it returns; a capture cut short
 * ends the slices with onTruncated, or throws.
 */
async function* parseSlices<T>(
  source: CaptureSource, options: ReadFramesOptions, parse: (parser: FrameParser, slice: Uint8Array) => T,
  sliceBytes = BATCH_BYTES,
): AsyncGenerator<T> {
  const parser = new FrameParser();
  try {
    for await (const chunk of captureBytes(source, options)) {
      for (let at = 0; at < chunk.length; at += sliceBytes) {
        yield parse(parser, at === 0 && chunk.length <= sliceBytes ? chunk : chunk.subarray(at, Math.min(chunk.length, at + sliceBytes)));
      }
    }
    parser.finish();
  } catch (err) {
    reportTruncation(err, parser, options);
  }
}

/** A capture cut short goes to onTruncated when given; anything else (or without it) is thrown. */
function reportTruncation(err: unknown, parser: FrameParser, options: ReadFramesOptions): void {
  if (!(err instanceof CaptureTruncatedError)) throw err;
  // A gzip cut also leaves the parser mid-record; report it with the frame count.
  const report = err.completeFrames >= 0 ? err : new CaptureTruncatedError(err.fileOffset, err.detail, parser.frames);
  if (!options.onTruncated) throw report;
  options.onTruncated(report);
}

/** Frames in batches (at most BATCH_BYTES of input each). */
export async function* readFrameBatches(source: CaptureSource, options: ReadFramesOptions = {}): AsyncGenerator<Frame[]> {
  for await (const frames of parseSlices(source, options, (parser, slice) => parser.push(slice))) {
    if (frames.length > 0) yield frames;
  }
}

/**
 * Every frame handed to `visit` as it is parsed (see FrameParser.each: `visit` is not
 * to keep the object, which is refilled for the next frame); `between` is awaited
 * after each batch of at most BATCH_BYTES of input. The same frames, errors and
 * truncation reports as readFrameBatches, without a list of frames per batch: the
 * cheapest way to consume a capture.
 */
export async function eachFrame(
  source: CaptureSource, options: ReadFramesOptions, visit: (frame: Frame) => void, between?: () => Promise<void> | void,
): Promise<void> {
  // No list of frames here, so nothing lives for a batch: with no `between` to call, a
  // read is parsed whole. Each slice cost a turn of the async generator: `stats` on the
  // bench capture spent 125 instructions an exchange fewer without them, and the peak
  // RSS of `summary --json -V` stayed the same (135.6–137.2 MB in slices, 135.7–136.3 whole).
  if (!between && options.readOnThisThread && source.kind === "file" && (await isPlainRegularFile(source.path))) {
    // A plain loop: the async generators between the reads and the parser cost
    // 20–50 ms of the 200–240 ms that reading every frame of the bench capture takes.
    const parser = new FrameParser();
    try {
      const reader = new ThisThreadFileReader(source.path, options);
      try {
        for (let chunk = reader.next(); chunk !== null; chunk = reader.next()) parser.each(chunk, visit);
      } finally {
        reader.close();
      }
      parser.finish();
    } catch (err) {
      reportTruncation(err, parser, options);
    }
    return;
  }
  const sliceBytes = between ? BATCH_BYTES : Number.MAX_SAFE_INTEGER;
  for await (const _ of parseSlices(source, options, (parser, slice) => parser.each(slice, visit), sliceBytes)) {
    if (between) await between();
  }
}

/** Every frame of the capture, in file order. See the module comment for truncation. */
export async function* readFrames(source: CaptureSource, options: ReadFramesOptions = {}): AsyncGenerator<Frame> {
  for await (const batch of readFrameBatches(source, options)) {
    for (const frame of batch) yield frame;
  }
}

/**
 * Re-reads one frame's captured bytes from an uncompressed capture file, given its
 * `fileOffset` and captured length (as the TUI does to show bytes on demand).
 */
export async function readFrameBytesAt(path: string, fileOffset: number, length: number): Promise<Uint8Array> {
  const reader = await FrameByteReader.open(path);
  try {
    return await reader.read(fileOffset, length);
  } finally {
    await reader.close();
  }
}

/** Keeps a capture file open for repeated readFrameBytesAt-style reads. */
export class FrameByteReader {
  private constructor(
    private readonly handle: Awaited<ReturnType<typeof open>>,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<FrameByteReader> {
    const handle = await open(path, "r");
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    if (bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
      await handle.close();
      throw new CaptureError(0, `${path} is gzip-compressed: frames cannot be re-read by offset`);
    }
    return new FrameByteReader(handle, path);
  }

  async read(fileOffset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(fileOffset) || fileOffset < 0 || !Number.isSafeInteger(length) || length < 0 || length > 16 * 1024 * 1024) {
      throw new RangeError(`bad frame position ${fileOffset}+${length}`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, fileOffset + done);
      if (bytesRead === 0) {
        throw new CaptureError(fileOffset + done, `${this.path} ends before the ${length} frame bytes at offset ${fileOffset}`);
      }
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
