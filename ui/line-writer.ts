/**
 * Buffered line output to a file descriptor: one write per ~64 KiB instead of one
 * per line. Writes synchronously so output order is deterministic and a closed pipe
 * (`| head`) ends the program quietly instead of buffering without bound.
 */
import { writeSync } from "node:fs";

export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly fd: number, private readonly flushAt = 64 * 1024) {}

  line(text: string): void {
    if (this.closed) return;
    this.parts.push(text, "\n");
    this.size += text.length + 1;
    if (this.size >= this.flushAt) this.flush();
  }

  flush(): void {
    if (this.closed || this.parts.length === 0) return;
    const data = this.parts.join("");
    this.parts = [];
    this.size = 0;
    let buf = Buffer.from(data, "utf8");
    while (buf.length > 0) {
      try {
        const n = writeSync(this.fd, buf);
        buf = buf.subarray(n);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue;
        if (code === "EPIPE") {
          this.closed = true;
          return;
        }
        throw err;
      }
    }
  }
}
