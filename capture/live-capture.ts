/**
 * Live capture on a network interface through the optional `cap` package (a
 * libpcap binding). It hands on the same `Frame` objects as the file readers, in
 * batches, so the whole pipeline works on it unchanged.
 *
 * What `cap` gives and what it does not, and what is done about it:
 * - It copies each packet into one buffer and emits ('packet', nbytes, truncated):
 *   no timestamp, no original length, no pcap_stats. Timestamps therefore come
 *   from this process's clock when the packet is handed to JavaScript (monotonic,
 *   anchored to the wall clock at start); packets read in one burst get times a
 *   few microseconds apart even if the kernel saw them further apart.
 * - Its snaplen is fixed at 65535. A frame that fills it may have been cut; its
 *   original length is then taken from the IP header (the only witness left).
 * - libpcap's received/dropped counters are out of reach; `interfaceCounters`
 *   reads the kernel's per-interface counters instead (all traffic on the
 *   interface, before any filter) — a labelled substitute, not the same thing.
 *
 * `cap` is loaded lazily (`loadCap`), so reading files never needs it; every way it
 * can fail (not installed, not built, libpcap missing, no permission) becomes a
 * LiveCaptureError whose message says how to fix it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { LinkType, type Frame } from "./frame.js";

// ── The binding's shape (cap 0.2: lib/Cap.js, src/binding.cc) ────────────────

interface CapInstance {
  open(device: string, filter: string, bufferSize: number, buffer: Buffer): string;
  close(): void;
  on(event: "packet", listener: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

interface RawCapAddress {
  readonly addr?: string;
  readonly netmask?: string;
  readonly broadaddr?: string;
  readonly dstaddr?: string;
}

interface RawCapDevice {
  readonly name: string;
  readonly description?: string;
  readonly addresses?: readonly RawCapAddress[];
  readonly flags?: string;
}

interface CapConstructor {
  new (): CapInstance;
  deviceList(): RawCapDevice[];
  findDevice(ip?: string): string | undefined;
}

export interface CapModule {
  readonly Cap: CapConstructor;
}

// ── Errors ───────────────────────────────────────────────────────────────────

export type LiveCaptureProblem =
  | "not-installed" | "not-built" | "no-libpcap" | "permission" | "no-device" | "bad-filter" | "failed";

const FIX_BUILD = "apt-get install libpcap-dev && npm rebuild cap";
const FIX_PERMISSION = "run as root, or let node capture: sudo setcap cap_net_raw,cap_net_admin=eip $(which node)";

/** Live capture is impossible here; `message` says why and how to fix it (one or two lines). */
export class LiveCaptureError extends Error {
  constructor(readonly problem: LiveCaptureProblem, message: string) {
    super(message);
    this.name = "LiveCaptureError";
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Loads the `cap` binding. RPCSCOPE_CAP_MODULE names another module to load in its
 * place (tests point it at a missing or broken module to check the messages).
 */
export function loadCap(): CapModule {
  const specifier = process.env["RPCSCOPE_CAP_MODULE"] || "cap";
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(specifier);
  } catch (err) {
    throw classifyLoadError(err, specifier);
  }
  const mod = loaded as Partial<CapModule> | null;
  if (!mod || typeof mod.Cap !== "function" || typeof mod.Cap.deviceList !== "function") {
    throw new LiveCaptureError("not-built", `the module '${specifier}' is not the cap libpcap binding; reinstall it: npm install cap && ${FIX_BUILD}`);
  }
  return mod as CapModule;
}

function classifyLoadError(err: unknown, specifier: string): LiveCaptureError {
  const text = errorText(err);
  const code = (err as { code?: unknown }).code;
  if (code === "MODULE_NOT_FOUND" && (text.includes(`'${specifier}'`) || text.includes(`"${specifier}"`))) {
    return new LiveCaptureError(
      "not-installed",
      `live capture needs the optional package 'cap' (a libpcap binding), which is not installed: ` +
        `apt-get install libpcap-dev && npm install cap`,
    );
  }
  if (/libpcap|cannot open shared object/i.test(text)) {
    return new LiveCaptureError("no-libpcap", `live capture needs libpcap, which the cap binding could not load (${firstLine(text)}): ${FIX_BUILD}`);
  }
  return new LiveCaptureError("not-built", `the optional package 'cap' is installed but its native part did not build or load (${firstLine(text)}): ${FIX_BUILD}`);
}

function firstLine(text: string): string {
  const i = text.indexOf("\n");
  return i < 0 ? text : text.slice(0, i);
}

function classifyOpenError(err: unknown, device: string, filter: string): LiveCaptureError {
  const text = firstLine(errorText(err));
  if (/operation not permitted|permission|not permitted|EPERM|EACCES/i.test(text)) {
    return new LiveCaptureError(
      "permission",
      `not allowed to capture on ${device} (libpcap: ${text}): capturing needs root or the CAP_NET_RAW and CAP_NET_ADMIN capabilities; ${FIX_PERMISSION}`,
    );
  }
  if (/no such device|doesn't exist|does not exist|not exist/i.test(text)) {
    return new LiveCaptureError("no-device", `no interface named '${device}' (libpcap: ${text}); see 'rpcscope interfaces'`);
  }
  if (filter !== "" && /syntax error|parse|illegal|unknown (host|port|protocol|network)|expression|filter/i.test(text)) {
    return new LiveCaptureError("bad-filter", `bad capture filter '${filter}': ${text} (the -f filter uses tcpdump's syntax, see pcap-filter(7))`);
  }
  return new LiveCaptureError("failed", `cannot capture on ${device}: ${text}`);
}

// ── Interfaces ───────────────────────────────────────────────────────────────

export interface LiveInterfaceAddress {
  readonly addr: string;
  readonly netmask: string | null;
  readonly broadaddr: string | null;
}

export interface LiveInterface {
  readonly name: string;
  readonly description: string | null;
  readonly addresses: readonly LiveInterfaceAddress[];
  readonly loopback: boolean;
}

/** The interfaces libpcap can capture on (pcap_findalldevs), with their addresses. */
export function listInterfaces(cap: CapModule = loadCap()): LiveInterface[] {
  let raw: RawCapDevice[];
  try {
    raw = cap.Cap.deviceList();
  } catch (err) {
    throw new LiveCaptureError("failed", `cannot list interfaces: ${firstLine(errorText(err))}`);
  }
  return raw.map((d) => ({
    name: String(d.name),
    description: d.description ? String(d.description) : null,
    addresses: (d.addresses ?? [])
      .filter((a) => typeof a.addr === "string")
      .map((a) => ({ addr: a.addr!, netmask: a.netmask ?? null, broadaddr: a.broadaddr ?? null })),
    loopback: (d.flags ?? "").includes("LOOPBACK"),
  }));
}

/** Kernel counters of one interface (/sys/class/net/IFACE/statistics), or null where there are none. */
export interface InterfaceCounters {
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxDropped: number;
  readonly txDropped: number;
}

export function interfaceCounters(device: string): InterfaceCounters | null {
  if (!/^[A-Za-z0-9_.:@-]{1,64}$/.test(device) || device === "." || device === "..") return null;
  const dir = `/sys/class/net/${device}/statistics/`;
  try {
    const read = (name: string): number => Number(readFileSync(dir + name, "latin1").trim());
    return { rxPackets: read("rx_packets"), txPackets: read("tx_packets"), rxDropped: read("rx_dropped"), txDropped: read("tx_dropped") };
  } catch {
    return null;
  }
}

// ── Link types and lengths ───────────────────────────────────────────────────

/** DLT numbers that differ from their LINKTYPE numbers (pcap-common.c), for "Unknown linktype N". */
const DLT_TO_LINKTYPE: ReadonlyMap<number, number> = new Map([
  [11, 100], // DLT_ATM_RFC1483
  [12, 101], // DLT_RAW (Linux, most systems)
  [14, 101], // DLT_RAW (OpenBSD)
  [15, 102], // DLT_SLIP_BSDOS
  [16, 103], // DLT_PPP_BSDOS
]);

/** What cap.open returned → a LINKTYPE number (the tcpdump registry), or null when unknown. */
export function linkTypeFromCap(name: string): number | null {
  switch (name) {
    case "NULL": return LinkType.NULL;
    case "ETHERNET": return LinkType.ETHERNET;
    case "IEEE802_11_RADIO": return 127;
    case "LINKTYPE_LINUX_SLL": return LinkType.LINUX_SLL;
    case "RAW": return LinkType.RAW;
    default: {
      const m = /^Unknown linktype (\d+)$/.exec(name);
      if (!m) return null;
      const dlt = Number(m[1]);
      return DLT_TO_LINKTYPE.get(dlt) ?? dlt;
    }
  }
}

/** cap instances whose open() failed, kept reachable for good (see LiveCapture.open). */
const HALF_OPENED: unknown[] = [];

/** cap's fixed snaplen (binding.cc: pcap_set_snaplen(…, 65535)). */
export const CAP_SNAPLEN = 65535;

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * The frame's length on the wire as its IP header declares it (link header + IP
 * length), for a frame the snaplen may have cut; `bytes.length` when it cannot tell.
 */
export function wireLengthFromHeaders(bytes: Uint8Array, linkType: number): number {
  let off: number;
  let proto = -1; // ethertype, or -1: decide by the IP version nibble
  switch (linkType) {
    case LinkType.ETHERNET: {
      off = 14;
      if (bytes.length < 14) return bytes.length;
      proto = u16(bytes, 12);
      // 802.1Q / 802.1ad tags (at most a few).
      for (let i = 0; i < 4 && (proto === 0x8100 || proto === 0x88a8) && off + 4 <= bytes.length; i++) {
        proto = u16(bytes, off + 2);
        off += 4;
      }
      break;
    }
    case LinkType.LINUX_SLL:
      if (bytes.length < 16) return bytes.length;
      proto = u16(bytes, 14);
      off = 16;
      break;
    case LinkType.LINUX_SLL2:
      if (bytes.length < 20) return bytes.length;
      proto = u16(bytes, 0);
      off = 20;
      break;
    case LinkType.NULL:
    case LinkType.LOOP:
      off = 4;
      break;
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      off = 0;
      break;
    default:
      return bytes.length;
  }
  if (off >= bytes.length) return bytes.length;
  const version = bytes[off]! >> 4;
  let ipLength = 0;
  if ((proto === 0x0800 || proto === -1) && version === 4 && off + 4 <= bytes.length) {
    ipLength = u16(bytes, off + 2);
  } else if ((proto === 0x86dd || proto === -1) && version === 6 && off + 6 <= bytes.length) {
    const payload = u16(bytes, off + 4);
    // 0 is a jumbogram (RFC 2675): the length is in an option we do not chase.
    ipLength = payload === 0 ? 0 : 40 + payload;
  }
  return Math.max(bytes.length, off + ipLength);
}

// ── The clock ────────────────────────────────────────────────────────────────

/**
 * Capture timestamps: the wall clock at start plus the monotonic clock since, so
 * times never go backwards when the system clock is stepped.
 */
export class CaptureClock {
  private readonly baseSec: number;
  /** Milliseconds past baseSec at performance.now() == 0 (kept small for precision). */
  private readonly baseMs: number;
  tsSec = 0;
  tsNsec = 0;

  constructor() {
    const origin = performance.timeOrigin;
    this.baseSec = Math.floor(origin / 1000);
    this.baseMs = origin - this.baseSec * 1000;
  }

  /** Reads the clock into tsSec / tsNsec (no allocation). */
  read(): void {
    const ms = this.baseMs + performance.now();
    const whole = Math.floor(ms / 1000);
    this.tsSec = this.baseSec + whole;
    let nsec = Math.round((ms - whole * 1000) * 1e6);
    if (nsec > 999_999_999) nsec = 999_999_999;
    this.tsNsec = nsec;
  }

  now(): { tsSec: number; tsNsec: number } {
    this.read();
    return { tsSec: this.tsSec, tsNsec: this.tsNsec };
  }
}

// ── The capture ──────────────────────────────────────────────────────────────

export interface LiveCaptureOptions {
  /** Interface name, as `rpcscope interfaces` lists it. */
  readonly device: string;
  /** BPF filter in tcpdump syntax; "" or absent captures everything. */
  readonly filter?: string;
  /**
   * libpcap's kernel buffer in bytes (pcap_set_buffer_size). Default 32 MiB. cap asks
   * for immediate mode, where libpcap uses a ring of fixed slots sized for the
   * interface's largest packet: on lo (MTU 65536) a slot takes 128 KiB of a ring
   * twice the size asked for, so 32 MiB holds ~500 packets there (tens of thousands
   * on an Ethernet interface) and the whole ring counts in the process's RSS.
   */
  readonly bufferBytes?: number;
  /** Captured bytes queued here, not yet analysed; packets beyond are dropped and counted. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** An empty batch (a clock tick) is handed on after this long without packets. Default 200 ms. */
  readonly tickMs?: number;
  /** Stop after this many packets (tcpdump's -c). */
  readonly maxPackets?: number;
  /** A loaded binding (tests); default loadCap(). */
  readonly cap?: CapModule;
}

export interface LiveCaptureStats {
  /** Packets handed to us by libpcap (after its filter) and kept. */
  readonly received: number;
  readonly receivedBytes: number;
  /** Packets dropped here because analysis fell more than maxQueuedBytes behind. */
  readonly queueDrops: number;
  /** Frames whose length the IP header says is more than the 65535 bytes cap keeps. */
  readonly cutBySnaplen: number;
}

/**
 * Packets are copied into large blocks and frames are views into them. A block is
 * never rewound: when it is full a new one is taken and the old one is freed once
 * no frame refers to it, so a batch still being read is never overwritten.
 */
const ARENA_BYTES = 1024 * 1024;

export class LiveCapture {
  readonly device: string;
  readonly linkType: number;
  /** What cap reported ("ETHERNET", …). */
  readonly linkTypeName: string;
  readonly clock = new CaptureClock();
  /** Why the capture stopped (null while running). */
  stopReason: string | null = null;

  private readonly cap: CapInstance;
  private readonly packet: Buffer;
  private readonly maxQueuedBytes: number;
  private readonly tickMs: number;
  private readonly maxPackets: number;
  private readonly queue: Frame[][] = [];
  private current: Frame[] = [];
  private queuedBytes = 0;
  private arena = new Uint8Array(ARENA_BYTES);
  private arenaPos = 0;
  private batchScheduled = false;
  private frameNo = 0;
  private closed = false;
  private wake: (() => void) | null = null;
  private counts = { received: 0, receivedBytes: 0, queueDrops: 0, cutBySnaplen: 0 };

  private constructor(device: string, cap: CapInstance, packet: Buffer, linkTypeName: string, linkType: number, options: LiveCaptureOptions) {
    this.device = device;
    this.cap = cap;
    this.packet = packet;
    this.linkTypeName = linkTypeName;
    this.linkType = linkType;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.tickMs = options.tickMs ?? 200;
    this.maxPackets = options.maxPackets ?? Infinity;
  }

  /** Opens the interface and starts capturing; throws LiveCaptureError when it cannot. */
  static open(options: LiveCaptureOptions): LiveCapture {
    const mod = options.cap ?? loadCap();
    const filter = options.filter ?? "";
    let instance: CapInstance;
    try {
      instance = new mod.Cap();
    } catch (err) {
      throw new LiveCaptureError("not-built", `the cap binding does not work (${firstLine(errorText(err))}): ${FIX_BUILD}`);
    }
    // Asked first so that a mistyped name gets a plain message (libpcap's open also prints a warning).
    let known: RawCapDevice[] | null = null;
    try {
      known = mod.Cap.deviceList();
    } catch {
      known = null;
    }
    if (known && known.length > 0 && !known.some((d) => d.name === options.device)) {
      throw new LiveCaptureError("no-device", `no interface named '${options.device}'; see 'rpcscope interfaces'`);
    }
    // One byte more than the snaplen, so cap's own "truncated" flag never fires. The
    // binding keeps only a raw pointer to this buffer, not a reference: it must stay
    // reachable (this.packet) for as long as the capture is open, or the GC frees it
    // and libpcap's copies land in freed memory (seen as heap corruption under load).
    const packet = Buffer.alloc(CAP_SNAPLEN + 1);
    // (On a Linux loopback the kernel hands libpcap every packet twice, sent and
    // received copies, and libpcap drops the sent one after it took a ring slot.
    // Prefixing the filter with "inbound" would halve the ring's load, but with
    // libpcap 1.10.3 it also loses the first packet after open, so it is not done.)
    let name: string;
    try {
      name = instance.open(options.device, filter, options.bufferBytes ?? 32 * 1024 * 1024, packet);
    } catch (err) {
      // A failed open leaves the binding half set up (a pcap handle but no poll handle),
      // and its destructor, run when the GC collects it, then stops a poll handle that
      // was never started and crashes the process. So it is never closed and never collected.
      HALF_OPENED.push(instance);
      throw classifyOpenError(err, options.device, filter);
    }
    const linkType = linkTypeFromCap(name);
    if (linkType === null) {
      instance.close();
      throw new LiveCaptureError("failed", `cannot capture on ${options.device}: unsupported link type (${name})`);
    }
    const live = new LiveCapture(options.device, instance, packet, name, linkType, options);
    instance.on("packet", (nbytes: number, truncated: boolean) => live.onPacket(nbytes, truncated));
    return live;
  }

  stats(): LiveCaptureStats {
    return { ...this.counts };
  }

  /** The capture clock now (used for ticks so state expires while no packets come). */
  now(): { tsSec: number; tsNsec: number } {
    return this.clock.now();
  }

  /** Stops capturing; batches already captured are still handed on, then `batches()` ends. */
  stop(reason = "stopped"): void {
    if (this.closed) return;
    this.closed = true;
    this.stopReason = reason;
    this.cap.removeAllListeners("packet");
    this.cap.close();
    this.endBatch();
    this.wake?.();
  }

  get stopped(): boolean {
    return this.closed;
  }

  /**
   * Frames in batches, as they arrive; an empty batch after `tickMs` without any.
   * One consumer only. Each batch's frames are views valid until the next batch is asked for.
   */
  async *batches(): AsyncGenerator<Frame[]> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        for (const f of next) this.queuedBytes -= f.bytes.length;
        yield next;
        continue;
      }
      if (this.closed) return;
      const arrived = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = null;
          resolve(false);
        }, this.tickMs);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve(true);
        };
      });
      if (!arrived && this.queue.length === 0 && !this.closed) yield [];
    }
  }

  // One packet from libpcap: copied out of cap's buffer at once (the next packet overwrites it).
  private onPacket(nbytes: number, truncated: boolean): void {
    if (this.closed) return;
    if (this.queuedBytes + nbytes > this.maxQueuedBytes) {
      this.counts.queueDrops++;
      return;
    }
    this.clock.read();
    if (this.arenaPos + nbytes > this.arena.length) {
      this.arena = new Uint8Array(Math.max(ARENA_BYTES, nbytes));
      this.arenaPos = 0;
    }
    const bytes = this.arena.subarray(this.arenaPos, this.arenaPos + nbytes);
    bytes.set(this.packet.subarray(0, nbytes));
    this.arenaPos += nbytes;
    let originalLength = nbytes;
    if (truncated || nbytes >= CAP_SNAPLEN) {
      originalLength = wireLengthFromHeaders(bytes, this.linkType);
      if (originalLength > nbytes) this.counts.cutBySnaplen++;
    }
    this.current.push({
      no: ++this.frameNo,
      tsSec: this.clock.tsSec,
      tsNsec: this.clock.tsNsec,
      linkType: this.linkType,
      bytes,
      originalLength,
      fileOffset: -1,
      interfaceId: 0,
    });
    this.queuedBytes += nbytes;
    this.counts.received++;
    this.counts.receivedBytes += nbytes;
    // libpcap hands over everything it has in one go (binding.cc's dispatch loop);
    // the batch closes once that loop is over and the event loop moves on.
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(() => this.endBatch());
    }
    if (this.counts.received >= this.maxPackets) this.stop("count");
  }

  private endBatch(): void {
    this.batchScheduled = false;
    if (this.current.length === 0) return;
    this.queue.push(this.current);
    this.current = [];
    this.wake?.();
  }
}
