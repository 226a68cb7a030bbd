/**
 * A captured frame as the readers hand it on. `bytes` is what was captured
 * (possibly cut short by the snaplen); `originalLength` is what was on the wire.
 *
 * `bytes` may be a view into a reader's chunk buffer: it is valid only until the
 * consumer returns from handling the frame. Anything kept longer must be copied.
 */
export interface Frame {
  /** 1-based, numbered as Wireshark numbers them (every packet block counts). */
  readonly no: number;
  /** Seconds since the Unix epoch (integer part). */
  readonly tsSec: number;
  /** Nanoseconds within the second, 0..999_999_999. */
  readonly tsNsec: number;
  readonly linkType: number;
  readonly bytes: Uint8Array;
  readonly originalLength: number;
  /** Byte offset of the packet data in the (decompressed) capture file, for re-reading. */
  readonly fileOffset: number;
  /** pcapng interface id (0 for pcap). */
  readonly interfaceId: number;
}

/**
 * A frame whose captured bytes lie at [start, end) of a reader's buffer `data`. The
 * packet decoder reads them there in place; `bytes` is a view made when asked for.
 * Making a view costs a few hundred instructions, and a run over a large capture
 * made one per frame that nothing but the decoder looked at.
 */
export class BufferFrame implements Frame {
  // Not readonly: a reader refills one BufferFrame for every frame it hands to a
  // visitor that keeps none (FrameParser.each); those who receive it see a Frame.
  constructor(
    public no: number,
    public tsSec: number,
    public tsNsec: number,
    public linkType: number,
    public data: Uint8Array,
    public start: number,
    public end: number,
    public originalLength: number,
    public fileOffset: number,
    public interfaceId: number,
  ) {}

  get bytes(): Uint8Array {
    return this.data.subarray(this.start, this.end);
  }
}

/** Link-layer header types (LINKTYPE_* from the tcpdump registry). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Time difference b - a in seconds, exact to the nanosecond for realistic spans. */
export function secondsBetween(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return (bSec - aSec) + (bNsec - aNsec) / 1e9;
}

/** A problem with the capture file itself (not with one packet): bad magic, truncated header... */
export class CaptureError extends Error {
  /** `detail` is the message without the offset (to make another error of it without saying the offset twice). */
  constructor(readonly fileOffset: number, readonly detail: string) {
    super(`${detail} (at file offset ${fileOffset})`);
    this.name = "CaptureError";
  }
}
