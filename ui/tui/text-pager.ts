/**
 * A full-screen page of text that scrolls (statistics, help). Lines are escaped
 * when drawn, so a page may hold names taken from packets.
 */
import { isDown, isEnd, isHome, isPageDown, isPageUp, isUp, type KeyPress, type KeyResult, type Panel } from "./panel.js";
import { STYLES, fitLine, plainLine, type StyledLine } from "./styled-line.js";
import { escapeForTerminal } from "./terminal-text.js";

export class TextPager implements Panel {
  private top = 0;
  private lines: readonly StyledLine[] = [];
  private width = 80;
  private height = 2;

  constructor(private readonly title: string) {}

  get scrollTop(): number {
    return this.top;
  }

  /** Replace the text; raw lines are escaped here. Keeps the scroll position when possible. */
  setText(lines: readonly string[]): void {
    this.setStyledLines(lines.map((text) => [{ text: escapeForTerminal(text), style: STYLES.normal }]));
  }

  /** Replace the content with lines already safe and styled. */
  setStyledLines(lines: readonly StyledLine[]): void {
    this.lines = lines;
    this.scrollTo(this.top);
  }

  resize(width: number, height: number): void {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.scrollTo(this.top);
  }

  private visibleLines(): number {
    return Math.max(1, this.height - 1);
  }

  draw(focused: boolean): readonly StyledLine[] {
    const start = this.top;
    const end = Math.min(this.lines.length, start + this.visibleLines());
    const more = end < this.lines.length ? `  (${end}/${this.lines.length}, PgDn for more)` : "";
    const out: StyledLine[] = [
      plainLine(` ${this.title}${more}   q/Esc: back`, this.width, focused ? STYLES.titleFocused : STYLES.title),
    ];
    for (let i = start; i < end; i++) out.push(fitLine(this.lines[i] ?? [], this.width));
    while (out.length < this.height) out.push(plainLine("", this.width));
    return out.slice(0, this.height);
  }

  /** The pager has no cursor: keys move the window itself. */
  private scrollTo(top: number): void {
    const last = Math.max(0, this.lines.length - this.visibleLines());
    this.top = Math.min(Math.max(0, top), last);
  }

  handleKey(key: KeyPress): KeyResult {
    const top = this.top;
    const page = Math.max(1, this.visibleLines() - 1);
    if (isDown(key)) this.scrollTo(top + 1);
    else if (isUp(key)) this.scrollTo(top - 1);
    else if (isPageDown(key) || key.name === "space") this.scrollTo(top + page);
    else if (isPageUp(key)) this.scrollTo(top - page);
    else if (isHome(key)) this.scrollTo(0);
    else if (isEnd(key)) this.scrollTo(this.lines.length);
    else return "not-handled";
    return "handled";
  }

  handleWheel(delta: number): KeyResult {
    this.scrollTo(this.top + delta);
    return "handled";
  }
}
