/**
 * Append-only store for record bytes on disk, so the index keeps offsets, not
 * copies: memory grows with the number of messages, not with their bytes. The file
 * is unlinked as soon as it is opened, so nothing is left behind whatever happens.
 * Works the same for files, gzip, standard input and live capture.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class SpillFile {
  private readonly fd: number;
  private readonly pending: Buffer;
  private pendingLength = 0;
  /** Bytes already written to the file (the pending buffer starts here). */
  private flushed = 0;

  constructor(bufferBytes = 1 << 20) {
    const dir = mkdtempSync(join(tmpdir(), "rpcscope-"));
    const path = join(dir, "records.bin");
    this.fd = openSync(path, "w+");
    unlinkSync(path);
    rmdirSync(dir);
    this.pending = Buffer.allocUnsafe(bufferBytes);
  }

  get size(): number {
    return this.flushed + this.pendingLength;
  }

  /** Stores bytes and returns their offset. */
  append(bytes: Uint8Array): number {
    const offset = this.size;
    if (bytes.length > this.pending.length - this.pendingLength) this.flush();
    if (bytes.length > this.pending.length) {
      this.writeAll(bytes);
    } else {
      this.pending.set(bytes, this.pendingLength);
      this.pendingLength += bytes.length;
    }
    return offset;
  }

  read(offset: number, length: number): Uint8Array {
    if (offset + length > this.flushed) this.flush();
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  }

  close(): void {
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pendingLength === 0) return;
    this.writeAll(this.pending.subarray(0, this.pendingLength));
    this.pendingLength = 0;
  }

  private writeAll(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      done += writeSync(this.fd, bytes, done, bytes.length - done, this.flushed + done);
    }
    this.flushed += bytes.length;
  }
}
