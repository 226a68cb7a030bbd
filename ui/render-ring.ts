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
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { Limits } from "../capture/limits.js";
import type { XdrType } from "../dissect/xdr-types.js";
import { TypeReceiver, TypeSender, type WireNodes } from "../dissect/xdr/type-transfer.js";
import { GrowingPieces, LineWriter, writeAllTo } from "./line-writer.js";
import { writeXdrJson } from "./xdr-json.js";

export const RING_SLOTS = 4;
/** Large enough that a thread's turn at a slot costs little against what is in it. */
export const DEFAULT_SLOT_BYTES = 512 * 1024;
const HOLD = 2;
const WRITE = 3;
const HOLD_HEADER_BYTES = 10;
/** The "write" entry, as it goes into a line. */
export const WRITE_HELD_BODY = Uint8Array.of(0, WRITE);

/** Control words: one per slot (0 free, n > 0 holds n bytes, END: no more), then flags. */
const SLOT_END = -1;
const CLOSED = RING_SLOTS;
const FAILED = RING_SLOTS + 1;
const ABORTED = RING_SLOTS + 2;
const CONTROL_WORDS = RING_SLOTS + 3;

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
export class HeldBodyRenderer {
  /** Held bodies, copied out of their slots (XDR bodies are whole words: each starts 4-aligned, as hex wants). */
  private readonly store = new GrowingPieces(256 * 1024);
  private readonly queue: HeldBody[] = [];
  private head = 0;
  /** A body longer than the rest of its slot goes on at the start of the next: its type and the bytes still to come. */
  private partialType: XdrType | null = null;
  private partialLeft = 0;

  private readonly types = new TypeReceiver();

  constructor(private readonly typePort: MessagePort, private readonly limits: Limits) {}

  /** `drain` is called after each piece written (to pass on output as it grows). */
  render(chunk: Uint8Array, out: GrowingPieces, drain: () => void): void {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    if (this.partialType !== null) pos = this.holdBytes(this.partialType, chunk, 0, this.partialLeft);
    while (pos < chunk.length) {
      const z = chunk.indexOf(0, pos);
      const end = z < 0 ? chunk.length : z;
      if (end > pos) {
        out.room(end - pos);
        out.raw(chunk.subarray(pos, end));
        drain();
      }
      if (z < 0) return;
      if (z + 2 > chunk.length) throw new Error(`render thread: entry cut at byte ${z} of a ${chunk.length}-byte slot`);
      const entry = chunk[z + 1];
      if (entry === WRITE) {
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
        pos = z + 2;
        drain();
        continue;
      }
      if (entry !== HOLD || z + HOLD_HEADER_BYTES > chunk.length) throw new Error(`render thread: no entry at byte ${z} of a ${chunk.length}-byte slot`);
      const typeId = view.getUint32(z + 2, true);
      const length = view.getUint32(z + 6, true);
      // Room for all of it at once, so that a body continued in later slots stays in one piece.
      this.store.room(length);
      pos = this.holdBytes(this.typeOf(typeId), chunk, z + HOLD_HEADER_BYTES, length);
    }
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
      const received = receiveMessageOnPort(this.typePort);
      if (!received) throw new Error(`render thread: type ${id} used before it was sent`);
      this.types.add(received.message as WireNodes);
    }
    return this.types.type(id);
  }
}

const NO_BODY: HeldBody = { type: { kind: "void" }, bytes: new Uint8Array(0) };

/** The render thread once started: its shared memory, the slot being filled, how it ended. */
interface Ring {
  readonly worker: Worker;
  readonly typePort: MessagePort;
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
}

export class RenderThreadWriter extends LineWriter {
  private ring: Ring | null = null;
  private readonly types = new TypeSender();
  private readonly slotBytes: number;

  constructor(private readonly limits: Limits, private readonly options: RenderThreadOptions = {}) {
    super(options.outputFd ?? 1);
    this.slotBytes = Math.max(64, Math.floor(options.slotBytes ?? DEFAULT_SLOT_BYTES));
  }

  get started(): boolean {
    return this.ring !== null;
  }

  /** From now on output goes through the render thread; what was written so far is written out first. */
  start(): void {
    if (this.ring || this.closed) return;
    super.flush();
    if (this.closed) return;
    const channel = new MessageChannel();
    const shared: RenderWorkerData = {
      data: new SharedArrayBuffer(RING_SLOTS * this.slotBytes),
      slotBytes: this.slotBytes,
      control: new SharedArrayBuffer(CONTROL_WORDS * 4),
      limits: this.limits,
      outputFd: this.options.outputFd ?? 1,
      types: channel.port2,
    };
    const worker = new Worker(this.options.workerUrl ?? new URL("./json-render-worker.js", import.meta.url), {
      workerData: shared, transferList: [channel.port2], stdout: false, stderr: false,
      // Its young generation kept small: the thread allocates little, and RSS counts it.
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    });
    const ring: Ring = {
      worker, typePort: channel.port1, control: new Int32Array(shared.control), views: slotViews(shared), slot: 0,
      exited: new Promise((resolve) => worker.once("exit", resolve)), failure: null,
    };
    // The thread reports its own errors; one it could not catch ends it all the same.
    worker.on("error", (err) => {
      ring.failure = err instanceof Error ? err : new Error(String(err));
    });
    this.ring = ring;
    this.buf = ring.views[0]!;
    this.pos = 0;
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

  /** Everything written: the render thread, if started, is told so; returns once it has written all and ended. */
  async finish(): Promise<void> {
    const ring = this.ring;
    this.flush();
    if (!ring) return;
    // handOver waited for this slot to be free.
    Atomics.store(ring.control, ring.slot, SLOT_END);
    Atomics.notify(ring.control, ring.slot);
    const code = await ring.exited;
    if (Atomics.load(ring.control, FAILED) !== 0 || code !== 0) {
      throw new Error(`the JSON render thread failed${ring.failure ? `: ${ring.failure.message}` : ""}`);
    }
  }

  /** On an error: the render thread stops at once, and does not keep the process alive. */
  abort(): void {
    const ring = this.ring;
    if (!ring) return;
    Atomics.store(ring.control, ABORTED, 1);
    for (let i = 0; i < RING_SLOTS; i++) Atomics.notify(ring.control, i);
    ring.worker.unref();
    ring.typePort.close();
  }

  private handOver(ring: Ring, bytes: number): void {
    const control = ring.control;
    Atomics.store(control, ring.slot, bytes);
    Atomics.notify(control, ring.slot);
    ring.slot = (ring.slot + 1) % RING_SLOTS;
    while (Atomics.load(control, ring.slot) !== 0) {
      if (Atomics.load(control, FAILED) !== 0) throw new Error("the JSON render thread failed");
      Atomics.wait(control, ring.slot, Atomics.load(control, ring.slot), 250);
    }
    this.buf = ring.views[ring.slot]!;
    this.pos = 0;
    // The render thread saw the reader go (EPIPE): output ends quietly, as with one thread.
    if (Atomics.load(control, CLOSED) !== 0) this.closed = true;
  }
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
