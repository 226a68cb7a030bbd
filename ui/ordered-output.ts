/**
 * NDJSON wants every message in frame order, and a call's line names the frame of
 * its reply, which comes later. Lines are therefore held until the call at the head
 * of the queue is resolved (reply seen, evicted, timed out, or the capture ended).
 * The queue is bounded: past `maxHeld` lines, or `maxHeldBytes` of what the lines
 * carry (decoded bodies with -V), the head is written as it stands (its peer
 * unknown so far), so memory never grows with the capture.
 */
import type { Exchange, LibvirtExchange, LibvirtMessage, RpcMessage } from "../dissect/rpc-types.js";

type HeldMessage = RpcMessage | LibvirtMessage;
type AnyExchange = Exchange | LibvirtExchange;

/**
 * Items are what `emit` needs to write a line when it is due (a call's line then
 * sees its reply); kept in two parallel arrays so holding one costs no object.
 */
export class OrderedOutput<T> {
  /**
   * Entries head..tail-1 are held. The arrays are reused rather than truncated: setting
   * an array's length is a call into the runtime, and the next push would grow it again.
   */
  private readonly msgs: (HeldMessage | undefined)[] = [];
  private readonly items: (T | undefined)[] = [];
  private readonly sizes: number[] = [];
  private heldBytes = 0;
  private head = 0;
  private tail = 0;
  /** Lines written before their call was resolved because the queue was full. */
  forcedEarly = 0;

  constructor(
    private readonly emit: (item: T) => void,
    private readonly maxHeld = 50_000,
    private readonly maxHeldBytes = 64 * 1024 * 1024,
  ) {}

  /** `bytes`: what holding the item costs beyond the message (its rendered body, say). */
  push(msg: HeldMessage, item: T, bytes = 0): void {
    const at = this.tail++;
    if (at < this.msgs.length) {
      this.msgs[at] = msg;
      this.items[at] = item;
      this.sizes[at] = bytes;
    } else {
      this.msgs.push(msg);
      this.items.push(item);
      this.sizes.push(bytes);
    }
    this.heldBytes += bytes;
    this.flush();
  }

  exchangeResolved(_ex: AnyExchange): void {
    this.flush();
  }

  finish(): void {
    this.flush(true);
  }

  private flush(all = false): void {
    const msgs = this.msgs;
    while (this.head < this.tail) {
      const at = this.head;
      const msg = msgs[at]!;
      const waiting = !all && msg.header?.kind === "call" && msg.exchange !== null && !isResolved(msg.exchange);
      if (waiting) {
        if (this.tail - at <= this.maxHeld && this.heldBytes <= this.maxHeldBytes) break;
        this.forcedEarly++;
      }
      const item = this.items[at]!;
      // Written entries let go of what they hold.
      msgs[at] = undefined;
      this.items[at] = undefined;
      this.heldBytes -= this.sizes[at]!;
      this.head = at + 1;
      this.emit(item);
    }
    if (this.head === this.tail) {
      // Everything written: start over at the front (the usual case).
      this.head = 0;
      this.tail = 0;
    } else if (this.head > 4096 && this.head * 2 > this.tail) {
      // Move the held entries to the front in blocks, so the arrays do not shift on every line.
      const n = this.tail - this.head;
      for (let i = 0; i < n; i++) {
        msgs[i] = msgs[this.head + i];
        this.items[i] = this.items[this.head + i];
        this.sizes[i] = this.sizes[this.head + i]!;
      }
      for (let i = n; i < this.tail; i++) {
        msgs[i] = undefined;
        this.items[i] = undefined;
      }
      this.head = 0;
      this.tail = n;
    }
  }
}

/** Final: its reply was seen, or matching gave the call up (the issue says so). */
function isResolved(ex: AnyExchange): boolean {
  if (ex.reply !== null) return true;
  // Indexed, not for…of: this runs for every held line, and the iterator was not always optimised away.
  const issues = ex.issues;
  for (let k = 0; k < issues.length; k++) {
    const code = issues[k]!.code;
    if (code === "unanswered" || code === "pending-evicted") return true;
  }
  return false;
}
