/**
 * `summary --json -V` on two threads. The main thread reads the capture and writes
 * every line as it would alone, except for bodies it may leave to the other thread
 * (complete, and clean by checkXdrJson): the render thread
 * (ui/json-render-worker.ts) writes those as JSON, which is most of the work of such
 * a run (hex of bulk data, numbers), and writes everything to standard output, in order.
 *
 * Bytes travel through a few slots of shared memory: the main thread fills one,
 * hands it over and takes the next one free, waiting only when the render thread is
 * that far behind. Among the lines go two kinds of entries, each starting with a NUL
 * byte, which JSON text never holds raw (every control character in a string is
 * escaped):
 *
 *   hold:  00 02 | type u32 | length u32 | body
 *   write: 00 03
 *   line:  00 04 | the parts of an NDJSON line (JsonLineParts) | tail length u32 | tail
 *   piece: 00 05 | number u32 | length u32 | bytes
 *
 * A line entry carries the values of a line, not its text: the render thread writes
 * it (summary-format.ts writeJsonLineStart, as the main thread would) and its tail (the
 * -V keys, with write entries). Its endpoint and procedure pieces are numbers, each
 * piece sent once in a piece entry before the first line that uses it (numbers are
 * used again round the clock: a piece sent again overwrites the old one).
 *
 * The type is a node number of dissect/xdr/type-transfer.ts: nodes not sent yet go
 * through a message port just before the entry that first uses them, and the render
 * thread takes them from the port (synchronously) when it meets a number it lacks.
 *
 * A body is handed over when its message is read (its bytes are valid only then);
 * its line comes later, once its exchange is resolved, with a "write" entry where the
 * body goes. Lines are written in the order their messages were read, so the n-th
 * "write" is for the n-th body held: the render thread keeps them in a queue. Its
 * memory is bounded with the main thread's queue of lines (OrderedOutput counts the
 * bodies held for them).
 */
import { createRequire } from "node:module";
import type { MessagePort, Worker } from "node:worker_threads";
import type { Limits } from "../capture/limits.js";
import type { XdrType } from "../dissect/xdr-types.js";
import { TypeReceiver, TypeSender, type WireNodes } from "../dissect/xdr/type-transfer.js";
import { GrowingPieces, LineWriter, writeAllTo } from "./line-writer.js";
import { writeXdrJson } from "./xdr-json.js";
import { JSON_LINE_END, jsonLineStartMaxBytes, newJsonLineParts, writeJsonLineStart, type JsonLineParts } from "./summary-format.js";

type WorkerThreads = typeof import("node:worker_threads");
let workerThreadsModule: WorkerThreads | null = null;
/**
 * node:worker_threads, loaded when first needed: most runs start no thread, and
 * loading the module cost every start-up about 2 ms.
 */
function workerThreads(): WorkerThreads {
  return (workerThreadsModule ??= createRequire(import.meta.url)("node:worker_threads") as WorkerThreads);
}

const RING_SLOTS = 4;
/** Large enough that a thread's turn at a slot costs little against what is in it. */
const DEFAULT_SLOT_BYTES = 512 * 1024;
const HOLD = 2;
const WRITE = 3;
const LINE = 4;
const PIECE = 5;
const HOLD_HEADER_BYTES = 10;
/** 00 05 | id u32 | length u32 | bytes */
const PIECE_HEADER_BYTES = 10;
/** 00 04 | flags u8 | frame f64 | time f64 | endpoint piece u32 | xid u32 | procedure piece u32 | peerFrame f64 | rtt f64 | length f64 */
const LINE_HEADER_BYTES = 55;
/** Pieces (a connection direction's endpoints, a procedure's names) the render thread keeps at once, by number. */
const PIECE_IDS = 8192;
/** Flags of a line entry: which parts are there (null parts are not). */
const HAS_XID = 1;
const HAS_PEER = 2;
const HAS_RTT = 4;
const HAS_FRAMES = 8;
const HAS_MISMATCH = 16;
const HAS_AUTH_STAT = 32;
const HAS_ISSUES = 64;
/** The "write" entry, as it goes into a line. */
export const WRITE_HELD_BODY = Uint8Array.of(0, WRITE);

/** Control words: one per slot (0 free, n > 0 holds n bytes, END: no more), then flags. */
const SLOT_END = -1;
const CLOSED = RING_SLOTS;
const FAILED = RING_SLOTS + 1;
const ABORTED = RING_SLOTS + 2;
/** Set by the thread as soon as it runs (json-render-worker.ts); a thread that never does is given up after a while. */
const STARTED = RING_SLOTS + 3;
const CONTROL_WORDS = RING_SLOTS + 4;

/** What the render thread is started with (structured-cloneable). */
export interface RenderWorkerData {
  readonly data: SharedArrayBuffer;
  readonly slotBytes: number;
  readonly control: SharedArrayBuffer;
  readonly limits: Limits;
  /** Where the output goes (standard output but in tests). */
  readonly outputFd: number;
  /** Where the type nodes come (WireNodes batches). */
  readonly types: MessagePort;
  /** Where the thread says why it failed (a string), for the main thread to report. */
  readonly errors: MessagePort;
  /** The control word the thread sets as soon as it runs (STARTED). */
  readonly startedWord: number;
}

function slotViews(shared: RenderWorkerData): Buffer[] {
  const views: Buffer[] = [];
  for (let i = 0; i < RING_SLOTS; i++) views.push(Buffer.from(shared.data, i * shared.slotBytes, shared.slotBytes));
  return views;
}

interface HeldBody {
  readonly type: XdrType;
  readonly bytes: Uint8Array;
}

/** The render thread's side: slot contents in, output bytes out. */
class HeldBodyRenderer {
  /** Held bodies, copied out of their slots (XDR bodies are whole words: each starts 4-aligned, as hex wants). */
  private readonly store = new GrowingPieces(256 * 1024);
  private readonly queue: HeldBody[] = [];
  private head = 0;
  /** A body longer than the rest of its slot goes on at the start of the next: its type and the bytes still to come. */
  private partialType: XdrType | null = null;
  private partialLeft = 0;

  private readonly types = new TypeReceiver();

  constructor(private readonly typePort: MessagePort, private readonly limits: Limits) {}

  /** Pieces by number, and the parts of the line being written (one object for all lines). */
  private readonly pieces: Uint8Array[] = [];
  private readonly parts = newJsonLineParts();
  private readonly frames: number[] = [];

  /** `drain` is called after each piece written (to pass on output as it grows). */
  render(chunk: Uint8Array, out: GrowingPieces, drain: () => void): void {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    if (this.partialType !== null) pos = this.holdBytes(this.partialType, chunk, 0, this.partialLeft);
    while (pos < chunk.length) {
      const z = copyToEntry(chunk, pos, out);
      drain();
      if (z < 0) return;
      if (z + 2 > chunk.length) throw new Error(`render thread: entry cut at byte ${z} of a ${chunk.length}-byte slot`);
      const entry = chunk[z + 1];
      if (entry === WRITE) {
        this.writeHeld(out);
        pos = z + 2;
        drain();
      } else if (entry === LINE) {
        pos = this.line(chunk, view, z, out, drain);
      } else if (entry === PIECE) {
        if (z + PIECE_HEADER_BYTES > chunk.length) throw new Error(`render thread: piece entry cut at byte ${z}`);
        const id = view.getUint32(z + 2, true);
        const length = view.getUint32(z + 6, true);
        const start = z + PIECE_HEADER_BYTES;
        if (id >= PIECE_IDS || start + length > chunk.length) throw new Error(`render thread: bad piece entry at byte ${z}`);
        // A copy: the slot is written over (Buffer#slice would be a view).
        this.pieces[id] = Uint8Array.prototype.slice.call(chunk, start, start + length);
        pos = start + length;
      } else if (entry === HOLD && z + HOLD_HEADER_BYTES <= chunk.length) {
        const typeId = view.getUint32(z + 2, true);
        const length = view.getUint32(z + 6, true);
        // Room for all of it at once, so that a body continued in later slots stays in one piece.
        this.store.room(length);
        pos = this.holdBytes(this.typeOf(typeId), chunk, z + HOLD_HEADER_BYTES, length);
      } else {
        throw new Error(`render thread: no entry at byte ${z} of a ${chunk.length}-byte slot`);
      }
    }
  }

  /** The oldest body held, written as JSON. */
  private writeHeld(out: GrowingPieces): void {
    if (this.head >= this.queue.length) throw new Error("render thread: a line asks for a body never held");
    const held = this.queue[this.head]!;
    this.queue[this.head++] = NO_BODY;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (!writeXdrJson(out, held.type, held.bytes, 0, this.limits)) {
      throw new Error("render thread: a body checked clean did not write");
    }
    this.store.recycle(held.bytes);
  }

  /** Writes the line entry at `z`; returns where the slot goes on. */
  private line(chunk: Uint8Array, view: DataView, z: number, out: GrowingPieces, drain: () => void): number {
    const bad = (): never => {
      throw new Error(`render thread: line entry cut at byte ${z} of a ${chunk.length}-byte slot`);
    };
    if (z + LINE_HEADER_BYTES > chunk.length) bad();
    const p = this.parts;
    const flags = chunk[z + 2]!;
    p.frame = view.getFloat64(z + 3, true);
    p.time = view.getFloat64(z + 11, true);
    p.endpointPiece = this.piece(view.getUint32(z + 19, true));
    p.xid = flags & HAS_XID ? view.getUint32(z + 23, true) : -1;
    p.procedurePiece = this.piece(view.getUint32(z + 27, true));
    p.peerFrame = flags & HAS_PEER ? view.getFloat64(z + 31, true) : null;
    p.rtt = flags & HAS_RTT ? view.getFloat64(z + 39, true) : Number.NaN;
    p.length = view.getFloat64(z + 47, true);
    let pos = z + LINE_HEADER_BYTES;
    p.frames = null;
    if (flags & HAS_FRAMES) {
      if (pos + 4 > chunk.length) bad();
      const n = view.getUint32(pos, true);
      pos += 4;
      if (pos + 8 * n > chunk.length) bad();
      const frames = this.frames;
      frames.length = n;
      for (let i = 0; i < n; i++, pos += 8) frames[i] = view.getFloat64(pos, true);
      p.frames = frames;
    }
    p.mismatchLow = null;
    if (flags & HAS_MISMATCH) {
      if (pos + 16 > chunk.length) bad();
      p.mismatchLow = view.getFloat64(pos, true);
      p.mismatchHigh = view.getFloat64(pos + 8, true);
      pos += 16;
    }
    p.authStat = null;
    if (flags & HAS_AUTH_STAT) {
      if (pos + 8 > chunk.length) bad();
      p.authStat = view.getFloat64(pos, true);
      pos += 8;
    }
    p.issues = null;
    if (flags & HAS_ISSUES) {
      if (pos + 4 > chunk.length) bad();
      const n = view.getUint32(pos, true);
      pos += 4;
      if (pos + n > chunk.length) bad();
      p.issues = chunk.subarray(pos, pos + n);
      pos += n;
    }
    if (pos + 4 > chunk.length) bad();
    const tailLength = view.getUint32(pos, true);
    pos += 4;
    if (pos + tailLength > chunk.length) bad();
    out.room(jsonLineStartMaxBytes(p));
    writeJsonLineStart(p, out);
    this.tail(chunk.subarray(pos, pos + tailLength), out, drain);
    out.room(2);
    out.bytes(JSON_LINE_END);
    out.bytes(NEWLINE);
    drain();
    return pos + tailLength;
  }

  /** A line's -V keys: bytes as they are, with the bodies their write entries ask for. */
  private tail(tail: Uint8Array, out: GrowingPieces, drain: () => void): void {
    let pos = 0;
    while (pos < tail.length) {
      const z = copyToEntry(tail, pos, out);
      if (z < 0) return;
      if (tail[z + 1] !== WRITE) throw new Error(`render thread: no write entry at byte ${z} of a line's tail`);
      this.writeHeld(out);
      drain();
      pos = z + 2;
    }
  }

  private piece(id: number): Uint8Array {
    const piece = this.pieces[id];
    if (piece === undefined) throw new Error(`render thread: piece ${id} used before it was sent`);
    return piece;
  }

  /** Copies what the slot has of a body (`left` bytes still to come) from `start`; returns where the slot goes on. */
  private holdBytes(type: XdrType, chunk: Uint8Array, start: number, left: number): number {
    const n = Math.min(left, chunk.length - start);
    this.store.raw(chunk.subarray(start, start + n));
    if (n < left) {
      this.partialType = type;
      this.partialLeft = left - n;
    } else {
      this.partialType = null;
      this.partialLeft = 0;
      this.queue.push({ type, bytes: this.store.take() });
    }
    return start + n;
  }

  /** The type of a node number; nodes not received yet are on the port already (sent before the entry). */
  private typeOf(id: number): XdrType {
    while (id >= this.types.known) {
      const received = workerThreads().receiveMessageOnPort(this.typePort);
      if (!received) throw new Error(`render thread: type ${id} used before it was sent`);
      this.types.add(received.message as WireNodes);
    }
    return this.types.type(id);
  }
}

const NO_BODY: HeldBody = { type: { kind: "void" }, bytes: new Uint8Array(0) };

/** Copies the bytes from `pos` up to the next entry (its NUL) to `out`; returns where that entry starts, or -1 when none does. */
function copyToEntry(bytes: Uint8Array, pos: number, out: GrowingPieces): number {
  const z = bytes.indexOf(0, pos);
  const end = z < 0 ? bytes.length : z;
  if (end > pos) {
    out.room(end - pos);
    out.raw(bytes.subarray(pos, end));
  }
  return z;
}

const NEWLINE = Uint8Array.of(0x0a);

/** The render thread once started: its shared memory, the slot being filled, how it ended. */
interface Ring {
  readonly worker: Worker;
  readonly typePort: MessagePort;
  readonly errorPort: MessagePort;
  readonly control: Int32Array;
  readonly views: Buffer[];
  slot: number;
  readonly exited: Promise<number>;
  failure: Error | null;
}

/**
 * The main thread's end: a LineWriter to standard output which, once `start()` is
 * called (a run with enough bodies to be worth a thread), writes into the slots
 * instead, among lines the bodies it holds (holdBody) for the render thread.
 */
export interface RenderThreadOptions {
  /** Bytes per slot (DEFAULT_SLOT_BYTES; tests make bodies and lines cross slots with small ones). */
  readonly slotBytes?: number;
  /** The render thread's module (json-render-worker.js beside this one). */
  readonly workerUrl?: URL;
  /** Where all output goes (1, standard output, but in tests). */
  readonly outputFd?: number;
  /**
   * How long the main thread waits for a slot from a thread that has not begun to run
   * (its module failed to load, say: an error the main thread cannot hear while it waits).
   */
  readonly startTimeoutMs?: number;
}

export class RenderThreadWriter extends LineWriter {
  private ring: Ring | null = null;
  private readonly types = new TypeSender();
  private readonly slotBytes: number;
  /** The slot being filled, for the numbers of line entries. */
  /** Pieces sent, by identity, and the piece each number holds now. */
  private readonly pieceIds = new Map<Uint8Array, number>();
  private readonly pieceOwners: (Uint8Array | undefined)[] = [];
  private nextPieceId = 0;

  constructor(private readonly limits: Limits, private readonly options: RenderThreadOptions = {}) {
    super(options.outputFd ?? 1);
    this.slotBytes = Math.max(64, Math.floor(options.slotBytes ?? DEFAULT_SLOT_BYTES));
  }

  get started(): boolean {
    return this.ring !== null;
  }

  /** Set when a thread could not be made (no more threads, say): the run stays on one thread. */
  private unavailable = false;

  /**
   * From now on output goes through the render thread; what was written so far is
   * written out first. Without a thread to be had, nothing changes.
   */
  start(): void {
    if (this.ring || this.closed || this.unavailable) return;
    super.flush();
    if (this.closed) return;
    const ring = this.makeRing();
    if (!ring) return;
    this.ring = ring;
    this.setBuffer(ring.views[0]!);
    this.pos = 0;
  }

  /** The thread and its shared memory; null (and unavailable set) when no thread can be made. */
  private makeRing(): Ring | null {
    const { MessageChannel, Worker } = workerThreads();
    const channel = new MessageChannel();
    const errors = new MessageChannel();
    const shared: RenderWorkerData = {
      data: new SharedArrayBuffer(RING_SLOTS * this.slotBytes),
      slotBytes: this.slotBytes,
      control: new SharedArrayBuffer(CONTROL_WORDS * 4),
      limits: this.limits,
      outputFd: this.options.outputFd ?? 1,
      types: channel.port2,
      errors: errors.port2,
      startedWord: STARTED,
    };
    let worker: Worker;
    try {
      worker = new Worker(this.options.workerUrl ?? new URL("./json-render-worker.js", import.meta.url), {
        workerData: shared, transferList: [channel.port2, errors.port2], stdout: false, stderr: false,
        // Its young generation kept small: the thread allocates little, and RSS counts it.
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
      });
    } catch {
      this.unavailable = true;
      channel.port1.close();
      errors.port1.close();
      return null;
    }
    const ring: Ring = {
      worker, typePort: channel.port1, errorPort: errors.port1, control: new Int32Array(shared.control), views: slotViews(shared), slot: 0,
      exited: new Promise((resolve) => worker.once("exit", resolve)), failure: null,
    };
    // The thread reports its own errors; one it could not catch ends it all the same.
    worker.on("error", (err) => {
      ring.failure = err instanceof Error ? err : new Error(String(err));
    });
    return ring;
  }

  override flush(): void {
    if (!this.ring) {
      super.flush();
      return;
    }
    if (this.closed || this.pos === 0) return;
    this.handOver(this.ring, this.pos);
  }

  /**
   * A line longer than the room in a slot, handed over a slot at a time; never cut
   * inside a "write" entry (a hold entry is never part of a line).
   */
  protected override send(data: Uint8Array): void {
    const ring = this.ring;
    if (!ring) {
      super.send(data);
      return;
    }
    let at = 0;
    while (at < data.length && !this.closed) {
      let end = Math.min(data.length, at + this.slotBytes);
      if (end < data.length && data[end - 1] === 0) end--;
      this.buf.set(data.subarray(at, end), 0);
      this.handOver(ring, end - at);
      at = end;
    }
  }

  /**
   * Hands over a body whose line comes later (with WRITE_HELD_BODY where the body
   * goes); only once started. The entry's header stays in one slot; the body fills
   * the rest of the slot and goes on at the start of the next ones.
   */
  holdBody(type: XdrType, body: Uint8Array): void {
    const ring = this.ring;
    if (!ring) throw new Error("holdBody before the render thread was started");
    if (this.closed) return;
    const typeId = this.types.idOf(type);
    const newNodes = this.types.takeNew();
    if (newNodes) ring.typePort.postMessage(newNodes);
    if (this.pos + HOLD_HEADER_BYTES > this.buf.length) this.flush();
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = 0;
    buf[pos + 1] = HOLD;
    buf.writeUInt32LE(typeId, pos + 2);
    buf.writeUInt32LE(body.length, pos + 6);
    this.pos = pos + HOLD_HEADER_BYTES;
    for (let at = 0; ;) {
      const n = Math.min(body.length - at, this.buf.length - this.pos);
      this.buf.set(body.subarray(at, at + n), this.pos);
      this.pos += n;
      at += n;
      if (at === body.length) return;
      this.flush();
      if (this.closed) return;
    }
  }

  /**
   * Hands over a line as its parts, for the render thread to write (with `tail`, the
   * -V keys, before the closing brace); false when the thread is not started or the
   * entry would not fit a slot (the caller writes the line itself then).
   */
  jsonLine(p: JsonLineParts, tail: Uint8Array | null): boolean {
    if (!this.ring) return false;
    if (this.closed) return true;
    const tailLength = tail?.length ?? 0;
    const size = LINE_HEADER_BYTES + (p.frames !== null ? 4 + 8 * p.frames.length : 0) + (p.mismatchLow !== null ? 16 : 0) +
      (p.authStat !== null ? 8 : 0) + (p.issues !== null ? 4 + p.issues.length : 0) + 4 + tailLength;
    const endpointKnown = this.pieceIds.get(p.endpointPiece);
    const procedureKnown = this.pieceIds.get(p.procedurePiece);
    const pieces = (endpointKnown === undefined ? PIECE_HEADER_BYTES + p.endpointPiece.length : 0) +
      (procedureKnown === undefined ? PIECE_HEADER_BYTES + p.procedurePiece.length : 0);
    if (size + pieces > this.slotBytes) return false;
    if (this.pos + size + pieces > this.buf.length) {
      this.flush();
      if (this.closed) return true;
    }
    // A piece sent now never takes the number of the line's other piece (it would
    // overwrite it on the render thread, or make it be sent again without room for it).
    const endpointId = endpointKnown ?? this.sendPiece(p.endpointPiece, procedureKnown ?? -1);
    const procedureId = procedureKnown ?? this.sendPiece(p.procedurePiece, endpointId);
    const buf = this.buf;
    const view = this.view;
    const at = this.pos;
    let flags = 0;
    if (p.xid >= 0) flags |= HAS_XID;
    if (p.peerFrame !== null) flags |= HAS_PEER;
    if (!Number.isNaN(p.rtt)) flags |= HAS_RTT;
    if (p.frames !== null) flags |= HAS_FRAMES;
    if (p.mismatchLow !== null) flags |= HAS_MISMATCH;
    if (p.authStat !== null) flags |= HAS_AUTH_STAT;
    if (p.issues !== null) flags |= HAS_ISSUES;
    buf[at] = 0;
    buf[at + 1] = LINE;
    buf[at + 2] = flags;
    view.setFloat64(at + 3, p.frame, true);
    view.setFloat64(at + 11, p.time, true);
    view.setUint32(at + 19, endpointId, true);
    view.setUint32(at + 23, p.xid >= 0 ? p.xid : 0, true);
    view.setUint32(at + 27, procedureId, true);
    view.setFloat64(at + 31, p.peerFrame ?? 0, true);
    view.setFloat64(at + 39, Number.isNaN(p.rtt) ? 0 : p.rtt, true);
    view.setFloat64(at + 47, p.length, true);
    let pos = at + LINE_HEADER_BYTES;
    if (p.frames !== null) {
      const frames = p.frames;
      view.setUint32(pos, frames.length, true);
      pos += 4;
      for (let i = 0; i < frames.length; i++, pos += 8) view.setFloat64(pos, frames[i]!, true);
    }
    if (p.mismatchLow !== null) {
      view.setFloat64(pos, p.mismatchLow, true);
      view.setFloat64(pos + 8, p.mismatchHigh, true);
      pos += 16;
    }
    if (p.authStat !== null) {
      view.setFloat64(pos, p.authStat, true);
      pos += 8;
    }
    if (p.issues !== null) {
      view.setUint32(pos, p.issues.length, true);
      buf.set(p.issues, pos + 4);
      pos += 4 + p.issues.length;
    }
    view.setUint32(pos, tailLength, true);
    pos += 4;
    if (tail !== null) {
      buf.set(tail, pos);
      pos += tailLength;
    }
    this.pos = pos;
    return true;
  }

  /** Sends a piece in a piece entry under the next number but `keep` (room is the caller's); returns its number. */
  private sendPiece(piece: Uint8Array, keep: number): number {
    let id = this.nextPieceId;
    if (id === keep) id = (id + 1) % PIECE_IDS;
    this.nextPieceId = (id + 1) % PIECE_IDS;
    const old = this.pieceOwners[id];
    if (old !== undefined) this.pieceIds.delete(old);
    this.pieceOwners[id] = piece;
    this.pieceIds.set(piece, id);
    const at = this.pos;
    this.buf[at] = 0;
    this.buf[at + 1] = PIECE;
    this.view.setUint32(at + 2, id, true);
    this.view.setUint32(at + 6, piece.length, true);
    this.buf.set(piece, at + PIECE_HEADER_BYTES);
    this.pos = at + PIECE_HEADER_BYTES + piece.length;
    return id;
  }

  /** Everything written: the render thread, if started, is told so; returns once it has written all and ended. */
  async finish(): Promise<void> {
    const ring = this.ring;
    this.flush();
    if (!ring) return;
    // handOver waited for this slot to be free.
    Atomics.store(ring.control, ring.slot, SLOT_END);
    Atomics.notify(ring.control, ring.slot);
    const code = await ring.exited;
    if (Atomics.load(ring.control, FAILED) !== 0 || code !== 0) throw failed(ring);
  }

  /** On an error: the render thread stops at once, and does not keep the process alive. */
  abort(): void {
    const ring = this.ring;
    if (!ring) return;
    Atomics.store(ring.control, ABORTED, 1);
    for (let i = 0; i < RING_SLOTS; i++) Atomics.notify(ring.control, i);
    ring.worker.unref();
    ring.typePort.close();
    ring.errorPort.close();
  }

  private handOver(ring: Ring, bytes: number): void {
    const control = ring.control;
    Atomics.store(control, ring.slot, bytes);
    Atomics.notify(control, ring.slot);
    ring.slot = (ring.slot + 1) % RING_SLOTS;
    let waited = 0;
    while (Atomics.load(control, ring.slot) !== 0) {
      if (Atomics.load(control, FAILED) !== 0) throw failed(ring);
      if (Atomics.load(control, STARTED) === 0 && waited >= (this.options.startTimeoutMs ?? 30_000)) {
        throw new Error("the JSON render thread did not start");
      }
      Atomics.wait(control, ring.slot, Atomics.load(control, ring.slot), 250);
      waited += 250;
    }
    this.setBuffer(ring.views[ring.slot]!);
    this.pos = 0;
    // The render thread saw the reader go (EPIPE): output ends quietly, as with one thread.
    if (Atomics.load(control, CLOSED) !== 0) this.closed = true;
  }
}

/** The render thread's failure as an error of the main thread, with what the thread said of it. */
function failed(ring: Ring): Error {
  const said = workerThreads().receiveMessageOnPort(ring.errorPort)?.message;
  const why = typeof said === "string" ? said : ring.failure?.message;
  return new Error(`the JSON render thread failed${why ? `: ${why}` : ""}`);
}

/** Output is flushed to standard output past this many bytes. */
const OUTPUT_CHUNK = 512 * 1024;

/** The render thread's loop: slots in turn, until the end (or an abort); throws on anything wrong. */
export function renderSlots(shared: RenderWorkerData): void {
  const control = new Int32Array(shared.control);
  const views = slotViews(shared);
  const renderer = new HeldBodyRenderer(shared.types, shared.limits);
  const out = new GrowingPieces(2 * OUTPUT_CHUNK);
  let closed = false;
  const write = (): void => {
    if (out.length === 0) return;
    const piece = out.take();
    if (!closed && !writeAllTo(shared.outputFd, piece)) {
      closed = true;
      Atomics.store(control, CLOSED, 1);
    }
    out.recycle(piece);
  };
  const drain = (): void => {
    if (out.length >= OUTPUT_CHUNK) write();
  };
  for (let slot = 0; ; slot = (slot + 1) % RING_SLOTS) {
    let bytes: number;
    while ((bytes = Atomics.load(control, slot)) === 0) {
      if (Atomics.load(control, ABORTED) !== 0) return;
      Atomics.wait(control, slot, 0);
    }
    if (bytes === SLOT_END) break;
    if (!closed) renderer.render(views[slot]!.subarray(0, bytes), out, drain);
    Atomics.store(control, slot, 0);
    Atomics.notify(control, slot);
  }
  write();
}
