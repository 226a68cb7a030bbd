/**
 * Hex + ASCII lines as Wireshark's bytes pane draws them, with one highlighted
 * byte range. Lines are computed one at a time, so a 16 MiB record costs only the
 * lines on screen.
 *
 *   0000  80 00 00 6c 12 34 56 78  00 00 00 00 00 00 00 02   ...l.4Vx........
 */
import { STYLES, type Segment, type StyledLine, type TextStyle } from "./styled-line.js";

export interface HexGeometry {
  readonly bytesPerLine: number;
  /** Hex digits of the offset column. */
  readonly offsetDigits: number;
}

const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const ASCII: readonly string[] = Array.from({ length: 256 }, (_, b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : "."));

/** Columns a line takes for a given geometry. */
export function hexLineWidth(g: HexGeometry): number {
  const groups = Math.ceil(g.bytesPerLine / 8);
  // offset, 2 spaces, "xx " per byte, 1 extra space between groups of 8, 1 space, ASCII
  return g.offsetDigits + 2 + g.bytesPerLine * 3 + (groups - 1) + 1 + g.bytesPerLine;
}

/** The widest layout (16, 8 or 4 bytes a line) that fits in `width` columns. */
export function hexGeometry(width: number, length: number): HexGeometry {
  const offsetDigits = length > 0x10000 ? 8 : 4;
  for (const bytesPerLine of [16, 8, 4]) {
    const g = { bytesPerLine, offsetDigits };
    if (hexLineWidth(g) <= width) return g;
  }
  return { bytesPerLine: 4, offsetDigits };
}

export function hexLineCount(length: number, g: HexGeometry): number {
  return Math.max(1, Math.ceil(length / g.bytesPerLine));
}

/** Line holding byte `offset`. */
export function hexLineOf(offset: number, g: HexGeometry): number {
  return Math.floor(Math.max(0, offset) / g.bytesPerLine);
}

export interface Highlight {
  /** First byte highlighted. */
  readonly start: number;
  /** One past the last byte highlighted. */
  readonly end: number;
}

/** Line `lineIndex` of the dump of `bytes`, `highlight` drawn in the highlight style. */
export function formatHexLine(
  bytes: Uint8Array,
  lineIndex: number,
  g: HexGeometry,
  highlight: Highlight | null,
  base: TextStyle = STYLES.normal,
): StyledLine {
  const first = lineIndex * g.bytesPerLine;
  const last = Math.min(bytes.length, first + g.bytesPerLine);
  const segments: Segment[] = [];
  let text = "";
  let style: TextStyle = base;
  const emit = (piece: string, pieceStyle: TextStyle): void => {
    if (pieceStyle !== style && text.length > 0) {
      segments.push({ text, style });
      text = "";
    }
    style = pieceStyle;
    text += piece;
  };
  const isLit = (i: number): boolean => highlight !== null && i >= highlight.start && i < highlight.end;

  emit(first.toString(16).padStart(g.offsetDigits, "0") + "  ", base);
  for (let k = 0; k < g.bytesPerLine; k++) {
    const i = first + k;
    const lit = i < last && isLit(i);
    emit(i < last ? (HEX_PAIRS[bytes[i] as number] as string) : "  ", lit ? STYLES.highlight : base);
    if (k === g.bytesPerLine - 1) break;
    // The space between two highlighted bytes is highlighted too, so a range reads as one block.
    const gapLit = lit && i + 1 < last && isLit(i + 1);
    emit((k + 1) % 8 === 0 ? "  " : " ", gapLit ? STYLES.highlight : base);
  }
  emit("  ", base);
  for (let i = first; i < last; i++) emit(ASCII[bytes[i] as number] as string, isLit(i) ? STYLES.highlight : base);
  if (text.length > 0) segments.push({ text, style });
  return segments;
}
