/**
 * pcap and pcapng writers: frames (link type, nanosecond timestamps, captured bytes,
 * original length) to a file descriptor, a stream or memory. Output is buffered and
 * written in large pieces; flush() pushes it out on demand (live capture calls it
 * after each batch so a reader of the file sees whole packets).
 */
import { writeSync } from "node:fs";

/** Where encoded bytes go. The writer hands over buffers it will not touch again. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
}

/** Writes synchronously to a file descriptor (fs.openSync, or 1 for stdout). */
export function fdSink(fd: number): ByteSink {
  return {
    write(bytes) {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    },
  };
}

/** Writes to a Node stream (back-pressure is the caller's business: flush() returns after write()). */
export function streamSink(stream: NodeJS.WritableStream): ByteSink {
  return { write: (bytes) => void stream.write(bytes) };
}

/** Collects everything in memory (tests, small synthetic files). */
export class MemorySink implements ByteSink {
  private readonly parts: Uint8Array[] = [];
  private length = 0;
  write(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
  /** Everything written so far, as one buffer. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const part of this.parts) {
      out.set(part, pos);
      pos += part.length;
    }
    return out;
  }
}

/** A frame to write. `originalLength` defaults to the captured length. */
export interface FrameToWrite {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly bytes: Uint8Array;
  readonly originalLength?: number;
}

/** Growable output buffer with little/big-endian integer writes. */
class OutputBuffer {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly flushAt: number,
  ) {
    this.buf = new Uint8Array(Math.max(flushAt, 4096));
    this.view = new DataView(this.buf.buffer);
  }

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number, le: boolean): void {
    this.reserve(2);
    this.view.setUint16(this.pos, v, le);
    this.pos += 2;
  }
  u32(v: number, le: boolean): void {
    this.reserve(4);
    this.view.setUint32(this.pos, v >>> 0, le);
    this.pos += 4;
  }
  i32(v: number, le: boolean): void {
    this.reserve(4);
    this.view.setInt32(this.pos, v | 0, le);
    this.pos += 4;
  }
  u32At(at: number, v: number, le: boolean): void {
    this.view.setUint32(at, v >>> 0, le);
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  pad4(): void {
    while (this.pos % 4 !== 0) this.u8(0);
  }
  maybeFlush(): void {
    if (this.pos >= this.flushAt) this.flush();
  }
  flush(): void {
    if (this.pos === 0) return;
    this.sink.write(this.buf.slice(0, this.pos));
    this.pos = 0;
  }
}

export interface PcapWriterOptions {
  readonly linkType: number;
  /** Default 262144. */
  readonly snaplen?: number;
  /** Nanosecond magic (a1b23c4d) instead of microseconds. Default false. */
  readonly nanosecond?: boolean;
  /** Byte order of the file. Default true (little-endian). */
  readonly littleEndian?: boolean;
  /** Bytes buffered before an automatic write. Default 1 MiB. */
  readonly bufferBytes?: number;
}

/** Classic pcap: one link type per file. */
export class PcapWriter {
  private readonly out: OutputBuffer;
  private readonly le: boolean;
  private readonly nanosecond: boolean;
  private readonly snaplen: number;
  framesWritten = 0;

  constructor(sink: ByteSink, options: PcapWriterOptions) {
    this.out = new OutputBuffer(sink, options.bufferBytes ?? 1024 * 1024);
    this.le = options.littleEndian ?? true;
    this.nanosecond = options.nanosecond ?? false;
    this.snaplen = options.snaplen ?? 262144;
    const o = this.out;
    o.u32(this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, this.le);
    o.u16(2, this.le);
    o.u16(4, this.le);
    o.i32(0, this.le); // thiszone
    o.u32(0, this.le); // sigfigs
    o.u32(this.snaplen, this.le);
    o.u32(options.linkType, this.le);
  }

  /** Writes one record; bytes beyond the snaplen are cut (original length kept). */
  writeFrame(frame: FrameToWrite): void {
    const o = this.out;
    const captured = Math.min(frame.bytes.length, this.snaplen);
    o.u32(frame.tsSec, this.le);
    o.u32(this.nanosecond ? frame.tsNsec : Math.floor(frame.tsNsec / 1000), this.le);
    o.u32(captured, this.le);
    o.u32(frame.originalLength ?? frame.bytes.length, this.le);
    o.bytes(captured === frame.bytes.length ? frame.bytes : frame.bytes.subarray(0, captured));
    this.framesWritten++;
    o.maybeFlush();
  }

  flush(): void {
    this.out.flush();
  }
}

export interface PcapngInterfaceOptions {
  readonly linkType: number;
  /** Default 262144; 0 means no limit. */
  readonly snaplen?: number;
  /** if_tsresol byte: 6 (µs, the default), 9 (ns), or 0x80|p for 2^-p. */
  readonly tsResolution?: number;
  /** if_tsoffset in seconds (timestamps written are reduced by it). */
  readonly tsOffset?: number;
  /** if_name. */
  readonly name?: string;
}

export interface PcapngWriterOptions {
  /** Default true. */
  readonly littleEndian?: boolean;
  /** shb_userappl. */
  readonly application?: string;
  readonly bufferBytes?: number;
}

interface WriterInterface {
  readonly snaplen: number;
  readonly tsResolution: number;
  readonly tsOffset: number;
}

/** pcapng: sections, interfaces, EPB (and SPB/raw blocks for tests). */
export class PcapngWriter {
  private readonly out: OutputBuffer;
  private le: boolean;
  private interfaces: WriterInterface[] = [];
  private readonly application: string | undefined;
  framesWritten = 0;

  constructor(sink: ByteSink, options: PcapngWriterOptions = {}) {
    this.out = new OutputBuffer(sink, options.bufferBytes ?? 1024 * 1024);
    this.le = options.littleEndian ?? true;
    this.application = options.application;
    this.startSection(this.le);
  }

  /** Starts a new section (SHB) in the given byte order; interfaces must be added again. */
  startSection(littleEndian: boolean = this.le): void {
    this.le = littleEndian;
    this.interfaces = [];
    const start = this.beginBlock(0x0a0d0d0a);
    const o = this.out;
    o.u32(0x1a2b3c4d, this.le);
    o.u16(1, this.le);
    o.u16(0, this.le);
    o.u32(0xffffffff, this.le); // section length -1: not specified
    o.u32(0xffffffff, this.le);
    if (this.application !== undefined) {
      this.option(4, new TextEncoder().encode(this.application));
      this.option(0, new Uint8Array(0));
    }
    this.endBlock(start);
  }

  /** Adds an interface (IDB) to the current section; returns its id. */
  addInterface(options: PcapngInterfaceOptions): number {
    const snaplen = options.snaplen ?? 262144;
    const tsResolution = options.tsResolution ?? 6;
    const tsOffset = options.tsOffset ?? 0;
    const start = this.beginBlock(1);
    const o = this.out;
    o.u16(options.linkType, this.le);
    o.u16(0, this.le);
    o.u32(snaplen, this.le);
    let anyOption = false;
    if (options.name !== undefined) {
      this.option(2, new TextEncoder().encode(options.name));
      anyOption = true;
    }
    if (tsResolution !== 6) {
      this.option(9, Uint8Array.of(tsResolution));
      anyOption = true;
    }
    if (tsOffset !== 0) {
      const v = new Uint8Array(8);
      const view = new DataView(v.buffer);
      const high = Math.floor(tsOffset / 4294967296);
      view.setInt32(this.le ? 4 : 0, high, this.le);
      view.setUint32(this.le ? 0 : 4, tsOffset - high * 4294967296, this.le);
      this.option(14, v);
      anyOption = true;
    }
    if (anyOption) this.option(0, new Uint8Array(0));
    this.endBlock(start);
    this.interfaces.push({ snaplen, tsResolution, tsOffset });
    return this.interfaces.length - 1;
  }

  /** Writes an Enhanced Packet Block. */
  writeFrame(interfaceId: number, frame: FrameToWrite): void {
    const iface = this.interfaces[interfaceId];
    if (!iface) throw new RangeError(`pcapng writer: no interface ${interfaceId} in this section`);
    const captured = iface.snaplen > 0 ? Math.min(frame.bytes.length, iface.snaplen) : frame.bytes.length;
    const [high, low] = toUnits(frame.tsSec - iface.tsOffset, frame.tsNsec, iface.tsResolution);
    const start = this.beginBlock(6);
    const o = this.out;
    o.u32(interfaceId, this.le);
    o.u32(high, this.le);
    o.u32(low, this.le);
    o.u32(captured, this.le);
    o.u32(frame.originalLength ?? frame.bytes.length, this.le);
    o.bytes(captured === frame.bytes.length ? frame.bytes : frame.bytes.subarray(0, captured));
    o.pad4();
    this.endBlock(start);
    this.framesWritten++;
    o.maybeFlush();
  }

  /** Writes a Simple Packet Block (interface 0, no timestamp). */
  writeSimplePacket(bytes: Uint8Array, originalLength: number = bytes.length): void {
    const start = this.beginBlock(3);
    this.out.u32(originalLength, this.le);
    this.out.bytes(bytes);
    this.out.pad4();
    this.endBlock(start);
    this.framesWritten++;
  }

  /** Writes any block: type, then `body` padded to 4 bytes (tests: unknown and obsolete blocks). */
  writeRawBlock(type: number, body: Uint8Array): void {
    const start = this.beginBlock(type);
    this.out.bytes(body);
    this.out.pad4();
    this.endBlock(start);
  }

  /** The byte order of the current section. */
  get littleEndian(): boolean {
    return this.le;
  }

  flush(): void {
    this.out.flush();
  }

  private beginBlock(type: number): number {
    const start = this.out.pos;
    this.out.u32(type, this.le);
    this.out.u32(0, this.le); // patched by endBlock
    return start;
  }

  private endBlock(start: number): void {
    const length = this.out.pos - start + 4;
    this.out.u32(length, this.le);
    this.out.u32At(start + 4, length, this.le);
  }

  private option(code: number, value: Uint8Array): void {
    this.out.u16(code, this.le);
    this.out.u16(value.length, this.le);
    this.out.bytes(value);
    this.out.pad4();
  }
}

/** (sec, nsec) → 64-bit count of units as [high, low], for if_tsresol `resolution`. */
export function toUnits(sec: number, nsec: number, resolution: number): [number, number] {
  let units: bigint;
  if (resolution & 0x80) {
    const p = BigInt(resolution & 0x7f);
    units = (BigInt(sec) << p) + ((BigInt(nsec) << p) / 1_000_000_000n);
  } else {
    const k = resolution;
    const perSecond = 10n ** BigInt(k);
    const fraction = k >= 9 ? BigInt(nsec) * 10n ** BigInt(k - 9) : BigInt(nsec) / 10n ** BigInt(9 - k);
    units = BigInt(sec) * perSecond + fraction;
  }
  units = BigInt.asUintN(64, units);
  return [Number(units >> 32n), Number(units & 0xffffffffn)];
}
