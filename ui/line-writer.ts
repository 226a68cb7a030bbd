/**
 * Buffered line output to a file descriptor: text is encoded straight into one
 * 1 MiB buffer and written when it fills, so there is no per-line join or Buffer.
 * Writes synchronously so output order is deterministic and a closed pipe
 * (`| head`) ends output quietly instead of buffering without bound.
 */
import { writeSync } from "node:fs";

export class LineWriter {
  private readonly buf: Buffer;
  private pos = 0;
  closed = false;

  constructor(private readonly fd: number, size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
  }

  line(text: string): void {
    if (this.closed) return;
    // UTF-8 needs at most 3 bytes per UTF-16 unit; check before encoding.
    if (this.pos + text.length * 3 + 1 > this.buf.length) {
      this.flush();
      if (text.length * 3 + 1 > this.buf.length) {
        this.writeAll(Buffer.from(text + "\n", "utf8"));
        return;
      }
    }
    this.pos += this.buf.write(text, this.pos, "utf8");
    this.buf[this.pos++] = 0x0a;
  }

  flush(): void {
    if (this.closed || this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off);
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
