/**
 * The bytes pane: hex + ASCII of the call record and of the reply record, one
 * section each, headed by its size and the frames it was assembled from. The range
 * of the node selected in the tree is highlighted and scrolled into view.
 */
import type { ByteRange, DetailBytes } from "./data-source.js";
import { formatHexLine, hexGeometry, hexLineCount, hexLineOf, type HexGeometry } from "./hex-layout.js";
import { isDown, isEnd, isHome, isPageDown, isPageUp, isUp, type KeyPress, type KeyResult, type Panel } from "./panel.js";
import { STYLES, fitLine, plainLine, type StyledLine } from "./styled-line.js";

interface Section {
  readonly record: DetailBytes;
  readonly geometry: HexGeometry;
  /** Global line of the section's header. */
  readonly firstLine: number;
  readonly hexLines: number;
}

/** "from 3 frames: 12, 13, 15" cut to `width`, ending in "(+N more)" when the list is long. */
export function describeFrames(frames: readonly number[], width: number): string {
  if (frames.length === 0) return "";
  if (frames.length === 1) return `frame ${frames[0]}`;
  const head = `${frames.length} frames: `;
  let text = head;
  for (let i = 0; i < frames.length; i++) {
    const piece = (i > 0 ? ", " : "") + String(frames[i]);
    const rest = frames.length - i - 1;
    const tail = rest > 0 ? `, ... (+${rest} more)` : "";
    // Stop when this frame and the marker for the rest would not fit.
    if (text.length + piece.length + (rest > 0 ? tail.length : 0) > width && i > 0) {
      return text + `, ... (+${frames.length - i} more)`;
    }
    text += piece;
  }
  return text;
}

export class BytesPanel implements Panel {
  private records: readonly DetailBytes[] = [];
  private sections: Section[] = [];
  private totalLines = 0;
  private top = 0;
  private width = 80;
  private height = 2;
  private highlight: ByteRange | null = null;

  get scrollTop(): number {
    return this.top;
  }

  get lineCount(): number {
    return this.totalLines;
  }

  setBytes(records: readonly DetailBytes[]): void {
    this.records = records;
    this.highlight = null;
    this.top = 0;
    this.layout();
  }

  setHighlight(range: ByteRange | null): void {
    this.highlight = range;
    if (range === null) return;
    const section = this.sections.find((s) => s.record.message === range.message);
    if (!section) return;
    const firstLine = section.firstLine + 1 + hexLineOf(range.offset, section.geometry);
    const lastLine = section.firstLine + 1 + hexLineOf(range.offset + Math.max(0, range.length - 1), section.geometry);
    const visible = this.visibleLines();
    if (firstLine < this.top || lastLine >= this.top + visible) {
      // Show the range with the line above it (often the section header) for context.
      this.top = firstLine - 1;
      this.clamp();
    }
  }

  resize(width: number, height: number): void {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.layout();
  }

  private visibleLines(): number {
    return Math.max(1, this.height - 1);
  }

  private layout(): void {
    this.sections = [];
    let line = 0;
    for (const record of this.records) {
      const geometry = hexGeometry(this.width - 1, record.bytes.length);
      const hexLines = hexLineCount(record.bytes.length, geometry);
      this.sections.push({ record, geometry, firstLine: line, hexLines });
      line += 1 + hexLines + 1; // header, dump, blank line
    }
    this.totalLines = Math.max(0, line - 1);
    this.clamp();
  }

  private clamp(): void {
    const maxTop = Math.max(0, this.totalLines - this.visibleLines());
    if (this.top > maxTop) this.top = maxTop;
    if (this.top < 0) this.top = 0;
  }

  draw(focused: boolean): readonly StyledLine[] {
    const lines: StyledLine[] = [plainLine(" Bytes", this.width, focused ? STYLES.titleFocused : STYLES.title)];
    if (this.sections.length === 0) lines.push(plainLine(" (no bytes)", this.width, STYLES.dim));
    const end = Math.min(this.totalLines, this.top + this.visibleLines());
    for (let global = this.top; global < end; global++) lines.push(fitLine(this.lineAt(global), this.width));
    while (lines.length < this.height) lines.push(plainLine("", this.width));
    return lines.slice(0, this.height);
  }

  private lineAt(global: number): StyledLine {
    for (const section of this.sections) {
      const local = global - section.firstLine;
      if (local < 0 || local > section.hexLines) continue;
      if (local === 0) {
        const name = section.record.message === "call" ? "Call" : "Reply";
        const size = `${section.record.bytes.length} bytes, `;
        const room = this.width - name.length - size.length - 4;
        return plainLine(` ${name}: ${size}${describeFrames(section.record.frames, room)}`, this.width, STYLES.columnHeader);
      }
      const range = this.highlight;
      const lit = range !== null && range.message === section.record.message
        ? { start: range.offset, end: range.offset + range.length } : null;
      return [{ text: " ", style: STYLES.normal }, ...formatHexLine(section.record.bytes, local - 1, section.geometry, lit)];
    }
    return plainLine("", this.width);
  }

  handleKey(key: KeyPress): KeyResult {
    const page = Math.max(1, this.visibleLines() - 1);
    if (isDown(key)) this.top += 1;
    else if (isUp(key)) this.top -= 1;
    else if (isPageDown(key)) this.top += page;
    else if (isPageUp(key)) this.top -= page;
    else if (isHome(key)) this.top = 0;
    else if (isEnd(key)) this.top = this.totalLines;
    else return "not-handled";
    this.clamp();
    return "handled";
  }

  handleWheel(delta: number): KeyResult {
    this.top += delta;
    this.clamp();
    return "handled";
  }
}
