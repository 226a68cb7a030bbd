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
  private readonly msgs: HeldMessage[] = [];
  private readonly items: T[] = [];
  private readonly sizes: number[] = [];
  private heldBytes = 0;
  private head = 0;
  /** Lines written before their call was resolved because the queue was full. */
  forcedEarly = 0;

  constructor(
    private readonly emit: (item: T) => void,
    private readonly maxHeld = 50_000,
    private readonly maxHeldBytes = 64 * 1024 * 1024,
  ) {}

  /** `bytes`: what holding the item costs beyond the message (its rendered body, say). */
  push(msg: HeldMessage, item: T, bytes = 0): void {
    this.msgs.push(msg);
    this.items.push(item);
    this.sizes.push(bytes);
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
    while (this.head < msgs.length) {
      const msg = msgs[this.head]!;
      const waiting = !all && msg.header?.kind === "call" && msg.exchange !== null && !isResolved(msg.exchange);
      if (waiting) {
        if (msgs.length - this.head <= this.maxHeld && this.heldBytes <= this.maxHeldBytes) break;
        this.forcedEarly++;
      }
      const item = this.items[this.head]!;
      this.heldBytes -= this.sizes[this.head]!;
      this.head++;
      this.emit(item);
    }
    if (this.head === msgs.length) {
      // Everything written: start over rather than shift (the usual case).
      if (this.head > 0) {
        msgs.length = 0;
        this.items.length = 0;
        this.sizes.length = 0;
        this.head = 0;
      }
    } else if (this.head > 4096 && this.head * 2 > msgs.length) {
      // Drop written entries in blocks so the arrays do not shift on every line.
      this.msgs.splice(0, this.head);
      this.items.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
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
