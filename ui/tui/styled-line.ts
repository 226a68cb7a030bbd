/**
 * Screen content as plain data: lines of styled segments. Panels produce these;
 * only app.ts turns them into terminal output (SGR sequences in a blessed box).
 * Keeping the panels free of blessed makes their output testable as text.
 *
 * Segment text is terminal-safe (escaped with `escapeForTerminal` when it came
 * from a packet); one UTF-16 unit is one column.
 */
import { padRight } from "./terminal-text.js";

export type Color = "black" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan" | "white";

export interface TextStyle {
  readonly fg?: Color;
  readonly bg?: Color;
  readonly bold?: boolean;
  readonly underline?: boolean;
  readonly reverse?: boolean;
}

export interface Segment {
  readonly text: string;
  readonly style: TextStyle;
}

export type StyledLine = readonly Segment[];

/** The palette, by role. Colours are the 8 basic ones so that any terminal shows them. */
export const STYLES = {
  normal: {},
  columnHeader: { bold: true, underline: true },
  titleFocused: { bold: true, fg: "white", bg: "blue" },
  title: { reverse: true },
  selectedFocused: { reverse: true },
  selectedBlurred: { fg: "white", bg: "blue" },
  error: { fg: "red" },
  malformed: { fg: "magenta" },
  unmatched: { fg: "yellow" },
  gap: { fg: "cyan" },
  slow: { fg: "yellow", bold: true },
  highlight: { fg: "black", bg: "cyan" },
  status: { fg: "black", bg: "white" },
  statusAlert: { fg: "red", bg: "white", bold: true },
  promptError: { fg: "red", bold: true },
  cursor: { reverse: true },
  key: { bold: true },
  dim: { fg: "blue" },
} as const satisfies Record<string, TextStyle>;

/** `over` applied on top of `base` (e.g. the selection on an error row). */
export function mergeStyle(base: TextStyle, over: TextStyle): TextStyle {
  return { ...base, ...over };
}

/** Builds one line segment by segment, tracking its width. */
export class LineBuilder {
  private readonly segments: Segment[] = [];
  private columns = 0;

  get width(): number {
    return this.columns;
  }

  /** Append already-safe text. */
  add(text: string, style: TextStyle = STYLES.normal): this {
    if (text.length > 0) {
      this.segments.push({ text, style });
      this.columns += text.length;
    }
    return this;
  }

  /** Pad with spaces (in `style`) up to `width` columns, or cut down to it. */
  finish(width: number, style: TextStyle = STYLES.normal): StyledLine {
    return fitLine(this.segments, width, style);
  }
}

/** A line of one segment, exactly `width` columns. */
export function plainLine(text: string, width: number, style: TextStyle = STYLES.normal): StyledLine {
  return [{ text: padRight(text, width), style }];
}

/** Exactly `width` columns: cut (no ellipsis, the caller fitted the columns) or padded. */
export function fitLine(line: StyledLine, width: number, padStyle: TextStyle = STYLES.normal): StyledLine {
  const out: Segment[] = [];
  let used = 0;
  for (const seg of line) {
    if (used >= width) break;
    const room = width - used;
    if (seg.text.length <= room) {
      out.push(seg);
      used += seg.text.length;
    } else {
      out.push({ text: seg.text.slice(0, room), style: seg.style });
      used = width;
    }
  }
  if (used < width) out.push({ text: " ".repeat(width - used), style: padStyle });
  return out;
}

/** Apply a style over every segment of a line (selection, focus). */
export function overlayLine(line: StyledLine, over: TextStyle): StyledLine {
  return line.map((seg) => ({ text: seg.text, style: mergeStyle(seg.style, over) }));
}

/** The text of a line without styles (tests, and the frame dump in the demo). */
export function lineText(line: StyledLine): string {
  let out = "";
  for (const seg of line) out += seg.text;
  return out;
}

const FG: Record<Color, number> = { black: 30, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37 };

function sgrFor(style: TextStyle): string {
  const codes: number[] = [0];
  if (style.bold) codes.push(1);
  if (style.underline) codes.push(4);
  if (style.reverse) codes.push(7);
  if (style.fg) codes.push(FG[style.fg]);
  if (style.bg) codes.push(FG[style.bg] + 10);
  return `\x1b[${codes.join(";")}m`;
}

/**
 * Replace anything that could still act on a terminal by "?": a last line of
 * defence should some text reach a segment without going through the escaping.
 */
function scrub(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

/** The line as text with SGR attribute sequences (the only escape sequences emitted). */
export function toSgr(line: StyledLine): string {
  let out = "";
  for (const seg of line) out += sgrFor(seg.style) + scrub(seg.text);
  return out + "\x1b[0m";
}
