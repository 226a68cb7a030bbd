/**
 * NDJSON wants every message in frame order, and a call's line names the frame of
 * its reply, which comes later. Lines are therefore held until the call at the head
 * of the queue is resolved (reply seen, evicted, timed out, or the capture ended).
 * The queue is bounded: past `maxHeld` lines the head is written as it stands (its
 * peer unknown so far), so memory never grows with the capture.
 */
import type { Exchange, LibvirtExchange, LibvirtMessage, RpcMessage } from "../dissect/rpc-types.js";

type HeldMessage = RpcMessage | LibvirtMessage;
type AnyExchange = Exchange | LibvirtExchange;

interface Held {
  readonly msg: HeldMessage;
  readonly render: () => string | null;
}

export class OrderedOutput {
  private readonly queue: Held[] = [];
  private head = 0;
  /** Lines written before their call was resolved because the queue was full. */
  forcedEarly = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly maxHeld = 50_000,
  ) {}

  /** `render` runs when the line is due, so a call's line sees its reply; null writes nothing. */
  push(msg: HeldMessage, render: () => string | null): void {
    this.queue.push({ msg, render });
    this.flush();
  }

  exchangeResolved(_ex: AnyExchange): void {
    this.flush();
  }

  finish(): void {
    this.flush(true);
  }

  private flush(all = false): void {
    while (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      const waiting =
        !all && item.msg.header?.kind === "call" && item.msg.exchange !== null && !isResolved(item.msg.exchange);
      if (waiting) {
        if (this.queue.length - this.head <= this.maxHeld) break;
        this.forcedEarly++;
      }
      const line = item.render();
      if (line !== null) this.write(line);
      this.head++;
    }
    // Drop written entries in blocks so the array does not shift on every line.
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** Final: its reply was seen, or matching gave the call up (the issue says so). */
function isResolved(ex: AnyExchange): boolean {
  if (ex.reply !== null) return true;
  for (const i of ex.issues) if (i.code === "unanswered" || i.code === "pending-evicted") return true;
  return false;
}
