/**
 * pcap and pcapng parsing as a push parser: bytes in (any chunking), frames out.
 * No `node:` imports, so the same parser serves files, standard input, pipes from
 * tcpdump and tests that feed bytes one at a time.
 *
 * Formats:
 *  - pcap (draft-ietf-opsawg-pcap): both byte orders, microsecond (a1b2c3d4) and
 *    nanosecond (a1b23c4d) magics, and the "modified" Kuznetzov variant (a1b2cd34)
 *    whose record header is 8 bytes longer.
 *  - pcapng (draft-ietf-opsawg-pcapng): SHB in both byte orders, any number of
 *    sections (each resets the interface list), IDB with if_tsresol (power of 10 or
 *    of 2) and if_tsoffset, EPB, SPB, the obsolete PB; every other block is skipped.
 *    Frame numbers are Wireshark's: every packet block counts, and so do custom and
 *    systemd-journal blocks, which Wireshark lists as records (they yield no Frame,
 *    so the numbers of the frames we yield then have a hole).
 *
 * Zero copy: a frame's `bytes` is a subarray of the chunk passed to push(); only a
 * record that straddles two chunks is assembled into a fresh buffer.
 *
 * Errors: a file that is not a capture, a bad header or a bad block raises a
 * CaptureError carrying the file offset. Frames decoded before the bad spot are
 * still returned: the error is held back and thrown by the next push() or by
 * finish(). A file that ends inside a record makes finish() throw a
 * CaptureTruncatedError (a CaptureError) after every complete frame was returned.
 */
import { BufferFrame, CaptureError, type Frame } from "./frame.js";

/** Largest captured packet accepted (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD). */
export const MAX_PACKET_BYTES = 262_144;
/** Largest pcapng block accepted (Wireshark's MAX_BLOCK_SIZE); bigger means a corrupt length. */
export const MAX_PCAPNG_BLOCK_BYTES = 16 * 1024 * 1024;

export type CaptureFormat = "pcap" | "pcapng";

/** The capture ended inside a record: every frame before `fileOffset` was delivered. */
export class CaptureTruncatedError extends CaptureError {
  constructor(fileOffset: number, detail: string, readonly completeFrames: number) {
    super(fileOffset, detail);
    this.name = "CaptureTruncatedError";
  }
}

/** An interface as a pcapng IDB (or the pcap file header) describes it. */
export interface CaptureInterface {
  readonly linkType: number;
  /** 0 means "no limit". */
  readonly snaplen: number;
  /** The if_tsresol byte as found (6 when absent; pcap: 6 or 9). */
  readonly tsResolution: number;
  /** if_tsoffset seconds (0 when absent). */
  readonly tsOffset: number;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const BLOCK_IDB = 0x00000001;
const BLOCK_PB = 0x00000002;
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BLOCK_SYSTEMD_JOURNAL = 0x00000009;
const BLOCK_CUSTOM_COPY = 0x00000bad;
const BLOCK_CUSTOM_NO_COPY = 0x40000bad;

const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** Timestamp conversion prepared once per interface. */
interface InterfaceState extends CaptureInterface {
  /** Units per second when it fits the exact double arithmetic below (<= 2^30), else 0. */
  readonly fastDivisor: number;
  /** Decimal: nanoseconds per unit; binary: unused. */
  readonly nsecPerUnit: number;
  /** Binary resolution exponent p (units are 2^-p s), or -1 for decimal. */
  readonly binaryExponent: number;
  /** Units per second as a BigInt for the slow path. */
  readonly unitsBig: bigint;
}

type State = "magic" | "pcap-header" | "pcap" | "pcapng";

function describeBytes(bytes: Uint8Array): string {
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  let text = "";
  for (const b of bytes.subarray(0, 16)) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
  return `first bytes ${hex || "(none)"}${text ? ` "${text}"` : ""}`;
}

function makeInterface(linkType: number, snaplen: number, tsResolution: number, tsOffset: number, fileOffset: number): InterfaceState {
  let fastDivisor = 0;
  let nsecPerUnit = 0;
  let binaryExponent = -1;
  let unitsBig: bigint;
  if (tsResolution & 0x80) {
    binaryExponent = tsResolution & 0x7f;
    if (binaryExponent > 63) throw new CaptureError(fileOffset, `if_tsresol 2^-${binaryExponent} is beyond 64-bit timestamps`);
    unitsBig = 1n << BigInt(binaryExponent);
    if (binaryExponent <= 30) fastDivisor = 2 ** binaryExponent;
  } else {
    if (tsResolution > 19) throw new CaptureError(fileOffset, `if_tsresol 10^-${tsResolution} is beyond 64-bit timestamps`);
    unitsBig = 10n ** BigInt(tsResolution);
    if (tsResolution <= 9) {
      fastDivisor = 10 ** tsResolution;
      nsecPerUnit = 10 ** (9 - tsResolution);
    }
  }
  return { linkType, snaplen, tsResolution, tsOffset, fastDivisor, nsecPerUnit, binaryExponent, unitsBig };
}

export class FrameParser {
  private state: State = "magic";
  private littleEndian = true;
  /** Bytes of input consumed before the current chunk (the absolute offset of its first byte). */
  private streamOffset = 0;
  private frameCount = 0;
  private skipped = 0;

  // pcap
  private pcapNanoseconds = false;
  private pcapRecordHeader = 16;
  private pcapInterface: InterfaceState | null = null;

  // pcapng
  private interfaceList: InterfaceState[] = [];
  private sections = 0;

  // A record that straddles chunks: its bytes so far, and how many it needs in total.
  private pending: Uint8Array | null = null;
  private pendingLength = 0;
  private pendingOffset = 0;
  private need = 0;

  private failure: CaptureError | null = null;
  private out: Frame[] = [];
  /** Set during each(): frames go to it instead of into `out`. */
  private visit: ((frame: Frame) => void) | null = null;
  /** The frame each() refills for every frame it hands on. */
  private visitedFrame: BufferFrame | null = null;
  private view: DataView = new DataView(new ArrayBuffer(0));
  private viewOf: Uint8Array | null = null;

  // Scratch for the timestamp conversion (no allocation per frame).
  private tsSec = 0;
  private tsNsec = 0;

  /** The detected format, once the first bytes have been seen. */
  get format(): CaptureFormat | null {
    if (this.state === "magic") return null;
    return this.state === "pcapng" ? "pcapng" : "pcap";
  }

  /** Frame numbers used so far (packets, plus the non-packet records Wireshark numbers). */
  get frames(): number {
    return this.frameCount;
  }

  /** Frame numbers given to non-packet records (pcapng custom and systemd journal blocks). */
  get skippedRecords(): number {
    return this.skipped;
  }

  /** Input bytes fully handled so far (complete records). */
  get bytesConsumed(): number {
    return this.pending ? this.pendingOffset : this.streamOffset;
  }

  /** Interfaces of the current section (pcap: the one described by the file header). */
  get interfaces(): readonly CaptureInterface[] {
    return this.pcapInterface ? [this.pcapInterface] : this.interfaceList;
  }

  /** pcapng sections seen so far. */
  get sectionCount(): number {
    return this.sections;
  }

  /**
   * Parses the next bytes of the capture and returns the frames completed by them.
   * Frames' `bytes` point into `chunk` (or into a fresh buffer for a straddling
   * record); keep `chunk` unmodified while those frames are in use.
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.failure) throw this.failure;
    const out: Frame[] = [];
    this.out = out;
    try {
      let pos = 0;
      if (this.pending) pos = this.fillPending(chunk);
      if (!this.pending && pos < chunk.length) this.parseRun(chunk, pos);
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      // Hand back the frames before the bad spot; the error surfaces on the next call.
      this.failure = err;
    }
    this.streamOffset += chunk.length;
    this.out = [];
    return out;
  }

  /**
   * As push(), but hands every frame to `visit` as soon as it is parsed, with no list
   * of frames (the cheapest way through a large capture). `visit` is not to keep the
   * frame object, which is refilled for the next frame; `bytes` it may keep as push()'s.
   */
  each(chunk: Uint8Array, visit: (frame: Frame) => void): void {
    this.visit = visit;
    try {
      this.push(chunk);
    } finally {
      this.visit = null;
    }
  }

  /**
   * A parsed frame, whose bytes are [start, end) of `buf`: to the visitor (each), as
   * a BufferFrame that makes no view unless asked, the same object refilled for every
   * frame (the visitor keeps none); or into the list push() returns, a new object
   * with its view. Refilling costs `stats` and `summary --json` about 150 instructions
   * an exchange fewer than a new BufferFrame a frame, as long as `data` is stored only
   * when the buffer changes: the reader's buffer is a new (young) view per read, and
   * storing it into the long-lived frame every time goes through the collector's
   * write barrier (an earlier refilling frame that did so cost more than new objects).
   */
  private emit(
    no: number, tsSec: number, tsNsec: number, linkType: number, buf: Uint8Array, start: number, end: number,
    originalLength: number, fileOffset: number, interfaceId: number,
  ): void {
    const visit = this.visit;
    if (visit === null) {
      this.out.push({ no, tsSec, tsNsec, linkType, bytes: buf.subarray(start, end), originalLength, fileOffset, interfaceId });
      return;
    }
    let frame = this.visitedFrame;
    if (frame === null) {
      frame = this.visitedFrame = new BufferFrame(no, tsSec, tsNsec, linkType, buf, start, end, originalLength, fileOffset, interfaceId);
    } else {
      frame.no = no;
      frame.tsSec = tsSec;
      frame.tsNsec = tsNsec;
      frame.linkType = linkType;
      if (frame.data !== buf) frame.data = buf;
      frame.start = start;
      frame.end = end;
      frame.originalLength = originalLength;
      frame.fileOffset = fileOffset;
      frame.interfaceId = interfaceId;
    }
    visit(frame);
  }

  /**
   * Declares the end of input. Throws the held-back error, if any; a CaptureError
   * when the input is empty or its file header is cut off; a CaptureTruncatedError
   * when it ends inside a record.
   */
  finish(): void {
    if (this.failure) throw this.failure;
    if (this.state === "magic" && this.streamOffset === 0 && !this.pending) {
      throw new CaptureError(0, "empty input: not a capture file");
    }
    if (this.state === "magic" || this.state === "pcap-header" || (this.state === "pcapng" && this.sections === 0)) {
      throw new CaptureError(
        this.streamOffset,
        `capture file header is cut off: the input ends after ${this.streamOffset} bytes`,
      );
    }
    if (this.pending) {
      const what = this.state === "pcap" ? "packet record" : "pcapng block";
      const total = this.need > this.pendingLength ? ` of ${this.need}` : "";
      throw new CaptureTruncatedError(
        this.pendingOffset,
        `capture is cut short: the file ends inside a ${what} (${this.pendingLength}${total} bytes present) after ${this.frameCount} complete frames`,
        this.frameCount,
      );
    }
  }

  private setView(buf: Uint8Array): DataView {
    if (this.viewOf !== buf) {
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.viewOf = buf;
    }
    return this.view;
  }

  private parseRun(buf: Uint8Array, start: number): void {
    let pos = start;
    const end = buf.length;
    while (pos < end) {
      const used = this.parseOne(buf, pos, end, this.streamOffset + pos);
      if (used === 0) {
        // Not enough bytes for the next record: keep the tail (copied) until more arrive.
        const have = end - pos;
        const pending = new Uint8Array(Math.max(this.need, have));
        pending.set(buf.subarray(pos, end));
        this.pending = pending;
        this.pendingLength = have;
        this.pendingOffset = this.streamOffset + pos;
        return;
      }
      pos += used;
    }
  }

  /** Feeds the start of `chunk` into the pending record; returns how much of `chunk` it took. */
  private fillPending(chunk: Uint8Array): number {
    let pos = 0;
    while (this.pending) {
      const take = Math.min(this.need - this.pendingLength, chunk.length - pos);
      this.pending.set(chunk.subarray(pos, pos + take), this.pendingLength);
      this.pendingLength += take;
      pos += take;
      if (this.pendingLength < this.need) return pos;
      const used = this.parseOne(this.pending, 0, this.pendingLength, this.pendingOffset);
      if (used === 0) {
        if (this.need <= this.pendingLength) throw new Error("FrameParser: need did not grow");
        const grown = new Uint8Array(this.need);
        grown.set(this.pending.subarray(0, this.pendingLength));
        this.pending = grown;
        continue;
      }
      if (used !== this.pendingLength) throw new Error("FrameParser: pending record not consumed exactly");
      this.pending = null;
      this.pendingLength = 0;
    }
    return pos;
  }

  /**
   * Parses one record at `pos`. Returns the bytes it used, or 0 with `this.need`
   * set to the total bytes the record needs from `pos` when fewer are available.
   */
  private parseOne(buf: Uint8Array, pos: number, end: number, fileOffset: number): number {
    switch (this.state) {
      case "pcap":
        return this.parsePcapRecord(buf, pos, end, fileOffset);
      case "pcapng":
        return this.parsePcapngBlock(buf, pos, end, fileOffset);
      case "pcap-header":
        return this.parsePcapHeader(buf, pos, end, fileOffset);
      case "magic":
        return this.detect(buf, pos, end, fileOffset);
    }
  }

  private detect(buf: Uint8Array, pos: number, end: number, fileOffset: number): number {
    if (end - pos < 4) {
      this.need = 4;
      return 0;
    }
    const view = this.setView(buf);
    const be = view.getUint32(pos, false);
    const le = view.getUint32(pos, true);
    if (be === PCAPNG_SHB) {
      this.state = "pcapng";
      return this.parsePcapngBlock(buf, pos, end, fileOffset);
    }
    for (const [magic, littleEndian] of [[be, false], [le, true]] as const) {
      if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS || magic === PCAP_MAGIC_MODIFIED) {
        this.littleEndian = littleEndian;
        this.pcapNanoseconds = magic === PCAP_MAGIC_NS;
        this.pcapRecordHeader = magic === PCAP_MAGIC_MODIFIED ? 24 : 16;
        this.state = "pcap-header";
        return this.parsePcapHeader(buf, pos, end, fileOffset);
      }
    }
    const head = buf.subarray(pos, Math.min(end, pos + 16));
    let hint = "";
    if (head[0] === 0x1f && head[1] === 0x8b) hint = " (gzip data: decompress first)";
    throw new CaptureError(fileOffset, `not a pcap or pcapng capture: ${describeBytes(head)}${hint}`);
  }

  private parsePcapHeader(buf: Uint8Array, pos: number, end: number, fileOffset: number): number {
    if (end - pos < 24) {
      this.need = 24;
      return 0;
    }
    const view = this.setView(buf);
    const le = this.littleEndian;
    const major = view.getUint16(pos + 4, le);
    const minor = view.getUint16(pos + 6, le);
    if (major !== 2) throw new CaptureError(fileOffset + 4, `unsupported pcap version ${major}.${minor}`);
    const snaplen = view.getUint32(pos + 16, le);
    // Low 16 bits: LINKTYPE; the top bits may carry FCS information we do not need.
    const linkType = view.getUint32(pos + 20, le) & 0xffff;
    this.pcapInterface = makeInterface(linkType, snaplen, this.pcapNanoseconds ? 9 : 6, 0, fileOffset);
    this.state = "pcap";
    return 24;
  }

  private parsePcapRecord(buf: Uint8Array, pos: number, end: number, fileOffset: number): number {
    const headerLength = this.pcapRecordHeader;
    if (end - pos < headerLength) {
      this.need = headerLength;
      return 0;
    }
    const view = this.setView(buf);
    const le = this.littleEndian;
    const capturedLength = view.getUint32(pos + 8, le);
    if (capturedLength > MAX_PACKET_BYTES) {
      throw new CaptureError(
        fileOffset + 8,
        `pcap record ${this.frameCount + 1} claims ${capturedLength} captured bytes, more than the ${MAX_PACKET_BYTES} any capture holds (corrupt file?)`,
      );
    }
    const total = headerLength + capturedLength;
    if (end - pos < total) {
      this.need = total;
      return 0;
    }
    let sec = view.getUint32(pos, le);
    let frac = view.getUint32(pos + 4, le);
    let nsec: number;
    if (this.pcapNanoseconds) {
      if (frac >= 1_000_000_000) {
        sec += Math.floor(frac / 1_000_000_000);
        frac %= 1_000_000_000;
      }
      nsec = frac;
    } else {
      if (frac >= 1_000_000) {
        sec += Math.floor(frac / 1_000_000);
        frac %= 1_000_000;
      }
      nsec = frac * 1000;
    }
    const originalLength = view.getUint32(pos + 12, le);
    const dataStart = pos + headerLength;
    const linkType = (this.pcapInterface as InterfaceState).linkType;
    this.emit(++this.frameCount, sec, nsec, linkType, buf, dataStart, dataStart + capturedLength, originalLength,
      fileOffset + headerLength, 0);
    return total;
  }

  private parsePcapngBlock(buf: Uint8Array, pos: number, end: number, fileOffset: number): number {
    if (end - pos < 12) {
      this.need = 12;
      return 0;
    }
    const view = this.setView(buf);
    const type = view.getUint32(pos, this.littleEndian);
    if (type === PCAPNG_SHB) {
      // The SHB's byte-order magic decides how to read everything in its section,
      // including its own length (draft-ietf-opsawg-pcapng §4.1).
      const bom = view.getUint32(pos + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = true;
      else if (view.getUint32(pos + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = false;
      else throw new CaptureError(fileOffset + 8, `pcapng section header has a bad byte-order magic: ${describeBytes(buf.subarray(pos + 8, pos + 12))}`);
    }
    const le = this.littleEndian;
    const length = view.getUint32(pos + 4, le);
    const minimum = type === PCAPNG_SHB ? 28 : type === BLOCK_IDB ? 20 : type === BLOCK_SPB ? 16 : type === BLOCK_EPB || type === BLOCK_PB ? 32 : 12;
    if (length % 4 !== 0) throw new CaptureError(fileOffset + 4, `pcapng block length ${length} (type 0x${type.toString(16)}) is not a multiple of 4`);
    if (length < minimum) throw new CaptureError(fileOffset + 4, `pcapng block length ${length} is below the minimum of ${minimum} for block type 0x${type.toString(16)}`);
    if (length > MAX_PCAPNG_BLOCK_BYTES) throw new CaptureError(fileOffset + 4, `pcapng block length ${length} exceeds the ${MAX_PCAPNG_BLOCK_BYTES}-byte limit (corrupt file?)`);
    if (end - pos < length) {
      this.need = length;
      return 0;
    }
    const trailing = view.getUint32(pos + length - 4, le);
    if (trailing !== length) {
      throw new CaptureError(fileOffset + length - 4, `pcapng block trailing length ${trailing} differs from its leading length ${length}`);
    }
    switch (type) {
      case PCAPNG_SHB: {
        const major = view.getUint16(pos + 12, le);
        const minor = view.getUint16(pos + 14, le);
        if (major !== 1) throw new CaptureError(fileOffset + 12, `unsupported pcapng version ${major}.${minor}`);
        this.interfaceList = [];
        this.sections++;
        break;
      }
      case BLOCK_IDB:
        this.readInterface(buf, view, pos, length, fileOffset);
        break;
      case BLOCK_EPB:
      case BLOCK_PB:
        this.readPacket(buf, view, pos, length, fileOffset, type === BLOCK_PB);
        break;
      case BLOCK_SPB:
        this.readSimplePacket(buf, view, pos, length, fileOffset);
        break;
      case BLOCK_CUSTOM_COPY:
      case BLOCK_CUSTOM_NO_COPY:
      case BLOCK_SYSTEMD_JOURNAL:
        // Not packets, but Wireshark lists them as records with a frame number; keep
        // our numbers equal to its numbers by counting them (no Frame is produced).
        this.frameCount++;
        this.skipped++;
        break;
      default:
        // NRB, ISB, DSB, local-use and unknown blocks: skipped, not numbered.
        break;
    }
    return length;
  }

  private readInterface(buf: Uint8Array, view: DataView, pos: number, length: number, fileOffset: number): void {
    const le = this.littleEndian;
    const linkType = view.getUint16(pos + 8, le);
    const snaplen = view.getUint32(pos + 12, le);
    let tsResolution = 6;
    let tsOffset = 0;
    let opt = pos + 16;
    const optEnd = pos + length - 4;
    // Options are a bounded loop over the block; a malformed list ends option parsing
    // (the interface itself is still usable) rather than the whole file.
    while (opt + 4 <= optEnd) {
      const code = view.getUint16(opt, le);
      const optLength = view.getUint16(opt + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (opt + 4 + optLength > optEnd) break;
      if (code === OPT_IF_TSRESOL && optLength === 1) tsResolution = buf[opt + 4] as number;
      else if (code === OPT_IF_TSOFFSET && optLength === 8) {
        const high = view.getInt32(opt + 4 + (le ? 4 : 0), le);
        const low = view.getUint32(opt + 4 + (le ? 0 : 4), le);
        tsOffset = high * 4294967296 + low;
      }
      opt += 4 + ((optLength + 3) & ~3);
    }
    this.interfaceList.push(makeInterface(linkType, snaplen, tsResolution, tsOffset, fileOffset));
  }

  private interfaceFor(id: number, fileOffset: number): InterfaceState {
    const iface = this.interfaceList[id];
    if (!iface) {
      throw new CaptureError(
        fileOffset,
        `pcapng packet block refers to interface ${id}, but its section describes ${this.interfaceList.length}`,
      );
    }
    return iface;
  }

  private readPacket(buf: Uint8Array, view: DataView, pos: number, length: number, fileOffset: number, obsolete: boolean): void {
    const le = this.littleEndian;
    const interfaceId = obsolete ? view.getUint16(pos + 8, le) : view.getUint32(pos + 8, le);
    const iface = this.interfaceFor(interfaceId, fileOffset + 8);
    const high = view.getUint32(pos + 12, le);
    const low = view.getUint32(pos + 16, le);
    const capturedLength = view.getUint32(pos + 20, le);
    const originalLength = view.getUint32(pos + 24, le);
    if (capturedLength > MAX_PACKET_BYTES) {
      throw new CaptureError(fileOffset + 20, `pcapng packet claims ${capturedLength} captured bytes, more than the ${MAX_PACKET_BYTES} any capture holds`);
    }
    if (28 + ((capturedLength + 3) & ~3) > length - 4) {
      throw new CaptureError(fileOffset + 20, `pcapng packet claims ${capturedLength} captured bytes but its block of ${length} bytes cannot hold them`);
    }
    this.convertTimestamp(iface, high, low);
    this.emit(++this.frameCount, this.tsSec, this.tsNsec, iface.linkType, buf, pos + 28, pos + 28 + capturedLength,
      originalLength, fileOffset + 28, interfaceId);
  }

  private readSimplePacket(buf: Uint8Array, view: DataView, pos: number, length: number, fileOffset: number): void {
    // SPB: interface 0, no timestamp; captured length is the smaller of the original
    // length, the interface's snaplen and what the block holds (pcapng §4.4).
    const iface = this.interfaceFor(0, fileOffset);
    const originalLength = view.getUint32(pos + 8, this.littleEndian);
    let capturedLength = Math.min(originalLength, length - 16);
    if (iface.snaplen > 0) capturedLength = Math.min(capturedLength, iface.snaplen);
    if (capturedLength > MAX_PACKET_BYTES) capturedLength = MAX_PACKET_BYTES;
    this.emit(++this.frameCount, 0, 0, iface.linkType, buf, pos + 12, pos + 12 + capturedLength, originalLength,
      fileOffset + 12, 0);
  }

  /** 64-bit count of interface units → (tsSec, tsNsec), exact, without BigInt on the common paths. */
  private convertTimestamp(iface: InterfaceState, high: number, low: number): void {
    const d = iface.fastDivisor;
    if (d !== 0) {
      // Long division of high·2^32 + low by d in 16-bit steps; every intermediate stays
      // below 2^53 because d <= 2^30.
      const hq = Math.floor(high / d);
      const hr = high - hq * d;
      const t1 = hr * 65536 + (low >>> 16);
      const q1 = Math.floor(t1 / d);
      const r1 = t1 - q1 * d;
      const t2 = r1 * 65536 + (low & 0xffff);
      const q2 = Math.floor(t2 / d);
      const rem = t2 - q2 * d;
      this.tsSec = hq * 4294967296 + q1 * 65536 + q2 + iface.tsOffset;
      if (iface.binaryExponent < 0) this.tsNsec = rem * iface.nsecPerUnit;
      else {
        // rem·10^9 / 2^p with 10^9 = 2^9 · 1953125, exact in doubles for p <= 30.
        const p = iface.binaryExponent;
        this.tsNsec = p <= 9 ? rem * 1953125 * 2 ** (9 - p) : Math.floor((rem * 1953125) / 2 ** (p - 9));
      }
      return;
    }
    const ts = (BigInt(high) << 32n) | BigInt(low);
    this.tsSec = Number(ts / iface.unitsBig) + iface.tsOffset;
    this.tsNsec = Number(((ts % iface.unitsBig) * 1_000_000_000n) / iface.unitsBig);
  }
}
