/**
 * The TUI without a terminal: owns the panels, the focus, the overlays and the
 * filter prompt, routes keys and mouse events, loads details on demand, and
 * renders the whole screen as styled lines. app.ts only translates blessed events
 * into calls here and paints what `render()` returns, which keeps every behaviour
 * of the UI testable as plain data.
 */
import type { Detail, ExchangeRow, TuiDataSource } from "./data-source.js";
import { BytesPanel } from "./bytes-pane.js";
import { DetailTreePanel } from "./detail-tree.js";
import { ExchangeListPanel } from "./exchange-list.js";
import { FilterPrompt } from "./filter-prompt.js";
import { HelpScreen } from "./help-screen.js";
import { computeLayout, contains, type Rect, type ScreenLayout } from "./layout.js";
import type { KeyPress, Panel } from "./panel.js";
import { StatsScreen } from "./stats-screen.js";
import { formatStatusLine } from "./status-line.js";
import { STYLES, plainLine, type StyledLine } from "./styled-line.js";

export interface TuiOptions {
  /** Slow-exchange threshold (seconds) when the source gives none. Default 0.2 s. */
  readonly slowRttSeconds?: number;
  /** Wait this long after the selection moves before reading its detail (key repeat). Default 25 ms. */
  readonly detailDelayMs?: number;
  /** Details kept in memory. Default 32. */
  readonly detailCacheSize?: number;
}

export type ControllerResult = "quit" | "handled" | "not-handled";

export type PaneName = "list" | "tree" | "bytes";

export type MouseInput =
  | { readonly kind: "click"; readonly x: number; readonly y: number }
  | { readonly kind: "wheel"; readonly x: number; readonly y: number; readonly delta: number };

const PANES: readonly PaneName[] = ["list", "tree", "bytes"];
const STATS_REFRESH_MS = 1000;

/** What a cached detail was read for: a live row can change (its reply arrives). */
function rowSignature(row: ExchangeRow): string {
  return `${row.index}|${row.kind}|${row.status}|${row.replyBytes}|${row.retransmits}`;
}

export class TuiController {
  readonly list: ExchangeListPanel;
  readonly tree = new DetailTreePanel();
  readonly bytes = new BytesPanel();
  readonly stats: StatsScreen;
  readonly help = new HelpScreen();
  readonly prompt = new FilterPrompt();

  private width = 80;
  private height = 24;
  private layout: ScreenLayout = computeLayout(80, 24);
  private focusValue: PaneName = "list";
  private overlayValue: "stats" | "help" | null = null;
  private promptOpenValue = false;
  private filterValue: string | null = null;
  private conversationValue: string | null = null;
  private message: string | null = null;
  private statsReadAt = 0;

  private readonly cache = new Map<string, Detail>();
  private detailFor: string | null = null;
  private detailTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  /** Set by the app: something changed outside a key press (a detail arrived). */
  onRedraw: () => void = () => {};

  constructor(
    private readonly source: TuiDataSource,
    private readonly options: TuiOptions = {},
  ) {
    this.list = new ExchangeListPanel(source, { slowRttSeconds: options.slowRttSeconds ?? 0.2 });
    this.stats = new StatsScreen(source);
    this.tree.onHighlight = (range) => this.bytes.setHighlight(range);
    this.list.refresh();
    this.syncDetail();
  }

  get focus(): PaneName {
    return this.focusValue;
  }
  get overlay(): "stats" | "help" | null {
    return this.overlayValue;
  }
  get promptOpen(): boolean {
    return this.promptOpenValue;
  }
  get filter(): string | null {
    return this.filterValue;
  }
  get conversation(): string | null {
    return this.conversationValue;
  }

  resize(width: number, height: number): void {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.layout = computeLayout(this.width, this.height);
    const l = this.layout;
    this.list.resize(l.list.width, l.list.height);
    if (l.tree) this.tree.resize(l.tree.width, l.tree.height);
    if (l.bytes) this.bytes.resize(l.bytes.width, l.bytes.height);
    this.stats.resize(l.overlay.width, l.overlay.height);
    this.help.resize(l.overlay.width, l.overlay.height);
    // A pane that no longer fits cannot keep the focus.
    if ((this.focusValue === "tree" && !l.tree) || (this.focusValue === "bytes" && !l.bytes)) this.focusValue = "list";
  }

  /** The source has new or changed rows. */
  dataChanged(): void {
    this.list.refresh();
    if (this.overlayValue === "stats" && Date.now() - this.statsReadAt >= STATS_REFRESH_MS) this.readStats();
    this.syncDetail();
  }

  dispose(): void {
    this.disposed = true;
    if (this.detailTimer !== null) clearTimeout(this.detailTimer);
    this.detailTimer = null;
  }

  // ---- input --------------------------------------------------------------

  handleKey(key: KeyPress): ControllerResult {
    if (key.ctrl && key.name === "c") return "quit";
    const result = this.routeKey(key);
    if (result !== "quit") this.syncDetail();
    return result;
  }

  private routeKey(key: KeyPress): ControllerResult {
    if (this.promptOpenValue) return this.promptKey(key);
    if (this.overlayValue !== null) return this.overlayKey(key);
    this.message = null;

    switch (key.ctrl ? "" : key.name) {
      case "q": return "quit";
      case "?": this.openOverlay("help"); return "handled";
      case "s": this.openOverlay("stats"); return "handled";
      case "/":
        this.prompt.open(this.filterValue ?? "");
        this.promptOpenValue = true;
        return "handled";
      case "c": this.toggleConversation(); return "handled";
      case "n": this.jumpToError(1); return "handled";
      case "N": this.jumpToError(-1); return "handled";
      case "tab": this.cycleFocus(key.shift ? -1 : 1); return "handled";
      case "escape": return "handled";
    }
    const result = this.pane(this.focusValue).handleKey(key);
    if (result === "handled") return "handled";
    if (this.focusValue === "list" && key.name === "enter" && this.layout.tree) {
      this.focusValue = "tree";
      return "handled";
    }
    return "not-handled";
  }

  private promptKey(key: KeyPress): ControllerResult {
    const outcome = this.prompt.handleKey(key);
    if (outcome.kind === "cancel") this.promptOpenValue = false;
    else if (outcome.kind === "submit") this.applyFilter(outcome.text);
    return "handled";
  }

  private overlayKey(key: KeyPress): ControllerResult {
    const closing = key.name === "q" || key.name === "escape"
      || (this.overlayValue === "stats" && key.name === "s")
      || (this.overlayValue === "help" && key.name === "?");
    if (closing) {
      this.overlayValue = null;
      return "handled";
    }
    if (key.name === "?" && this.overlayValue === "stats") {
      this.openOverlay("help");
      return "handled";
    }
    if (key.name === "s" && this.overlayValue === "help") {
      this.openOverlay("stats");
      return "handled";
    }
    // Everything else belongs to the overlay, so that no key acts on the hidden list.
    (this.overlayValue === "stats" ? this.stats : this.help).handleKey(key);
    return "handled";
  }

  handleMouse(input: MouseInput): ControllerResult {
    if (this.promptOpenValue) return "not-handled";
    let result: ControllerResult = "not-handled";
    if (this.overlayValue !== null) {
      if (input.kind === "wheel") {
        (this.overlayValue === "stats" ? this.stats : this.help).handleWheel(input.delta);
        result = "handled";
      }
    } else {
      for (const name of PANES) {
        const rect = this.rectOf(name);
        if (!rect || !contains(rect, input.x, input.y)) continue;
        const panel = this.pane(name);
        if (input.kind === "click") {
          this.focusValue = name;
          this.message = null;
          panel.handleClick?.(input.x - rect.x, input.y - rect.y);
        } else {
          panel.handleWheel?.(input.delta);
        }
        result = "handled";
        break;
      }
    }
    this.syncDetail();
    return result;
  }

  // ---- actions ------------------------------------------------------------

  private pane(name: PaneName): Panel {
    return name === "list" ? this.list : name === "tree" ? this.tree : this.bytes;
  }

  private rectOf(name: PaneName): Rect | null {
    return name === "list" ? this.layout.list : name === "tree" ? this.layout.tree : this.layout.bytes;
  }

  private cycleFocus(direction: 1 | -1): void {
    const available = PANES.filter((name) => this.rectOf(name) !== null);
    const at = available.indexOf(this.focusValue);
    this.focusValue = available[(at + direction + available.length) % available.length] ?? "list";
  }

  private openOverlay(which: "stats" | "help"): void {
    this.overlayValue = which;
    if (which === "stats") this.readStats();
  }

  private readStats(): void {
    this.statsReadAt = Date.now();
    this.stats.refresh();
  }

  private applyFilter(text: string): void {
    const expression = text.trim() === "" ? null : text;
    const keep = this.list.selectedRow()?.index ?? null;
    const result = this.source.setFilter(expression);
    if (!result.ok) {
      this.prompt.setError(result.column, result.message);
      return;
    }
    this.filterValue = expression;
    if (expression !== null) this.prompt.remember(expression);
    this.promptOpenValue = false;
    this.list.reselect(keep);
  }

  private toggleConversation(): void {
    if (this.conversationValue !== null) {
      const keep = this.list.selectedRow()?.index ?? null;
      this.source.setConversation(null);
      this.conversationValue = null;
      this.list.reselect(keep);
      return;
    }
    const row = this.list.selectedRow();
    if (row === null) {
      this.message = "no exchange selected";
      return;
    }
    this.source.setConversation(row.index);
    this.conversationValue = `${row.client} <-> ${row.server} ${row.transport}`;
    this.list.reselect(row.index);
  }

  private jumpToError(direction: 1 | -1): void {
    const from = this.list.selectedPosition ?? -1;
    const next = this.source.nextError(from, direction);
    if (next === null) {
      this.message = direction === 1 ? "no later error" : "no earlier error";
      return;
    }
    this.list.jumpTo(next);
  }

  // ---- detail loading -----------------------------------------------------

  /** Make the detail panes show the selected exchange, reading it if needed. */
  private syncDetail(): void {
    const row = this.list.selectedRow();
    const wanted = row === null ? null : rowSignature(row);
    if (wanted === this.detailFor) return;
    this.detailFor = wanted;
    if (this.detailTimer !== null) {
      clearTimeout(this.detailTimer);
      this.detailTimer = null;
    }
    if (row === null || wanted === null) {
      this.tree.setState({ kind: "empty", text: "(no exchange selected)" });
      this.bytes.setBytes([]);
      return;
    }
    const title = `#${row.index} ${row.program} ${row.procedure}`;
    const cached = this.cache.get(wanted);
    if (cached) {
      this.showDetail(title, cached);
      return;
    }
    this.tree.setState({ kind: "loading", title });
    this.bytes.setBytes([]);
    const delay = this.options.detailDelayMs ?? 25;
    if (delay <= 0) this.loadDetail(row.index, wanted, title);
    else this.detailTimer = setTimeout(() => {
      this.detailTimer = null;
      this.loadDetail(row.index, wanted, title);
    }, delay);
  }

  private loadDetail(exchangeIndex: number, signature: string, title: string): void {
    let pending: Promise<Detail>;
    try {
      pending = this.source.detail(exchangeIndex);
    } catch (error: unknown) {
      pending = Promise.reject(error);
    }
    pending.then(
      (detail) => {
        this.remember(signature, detail);
        if (this.disposed || this.detailFor !== signature) return;
        this.showDetail(title, detail);
        this.onRedraw();
      },
      (error: unknown) => {
        if (this.disposed || this.detailFor !== signature) return;
        this.tree.setState({ kind: "error", title, message: error instanceof Error ? error.message : String(error) });
        this.bytes.setBytes([]);
        this.onRedraw();
      },
    );
  }

  private showDetail(title: string, detail: Detail): void {
    this.bytes.setBytes(detail.bytes);
    this.tree.setState({ kind: "tree", title, detail });
  }

  private remember(signature: string, detail: Detail): void {
    this.cache.delete(signature);
    this.cache.set(signature, detail);
    const limit = Math.max(1, this.options.detailCacheSize ?? 32);
    while (this.cache.size > limit) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
  }

  // ---- drawing ------------------------------------------------------------

  /** The whole screen: exactly `height` lines of exactly `width` columns. */
  render(): readonly StyledLine[] {
    const w = this.width;
    const h = this.height;
    if (w < 20 || h < 3) {
      const lines: StyledLine[] = [plainLine("terminal too small", w, STYLES.error)];
      while (lines.length < h) lines.push(plainLine("", w));
      return lines.slice(0, h);
    }
    const frame: StyledLine[] = new Array<StyledLine>(h).fill(plainLine("", w));
    const put = (rect: Rect, lines: readonly StyledLine[]): void => {
      for (let i = 0; i < rect.height && i < lines.length; i++) frame[rect.y + i] = lines[i] as StyledLine;
    };

    const progress = this.source.progress();
    if (this.overlayValue !== null) {
      put(this.layout.overlay, (this.overlayValue === "stats" ? this.stats : this.help).draw(true));
    } else {
      this.list.setEmptyText(this.emptyListText(progress.done));
      put(this.layout.list, this.list.draw(this.focusValue === "list"));
      if (this.layout.tree) put(this.layout.tree, this.tree.draw(this.focusValue === "tree"));
      if (this.layout.bytes) put(this.layout.bytes, this.bytes.draw(this.focusValue === "bytes"));
    }
    if (this.promptOpenValue) put(this.layout.prompt, this.prompt.draw(w));

    put(this.layout.status, [formatStatusLine({
      title: this.source.title,
      progress,
      shown: this.list.listWindow.count,
      filter: this.filterValue,
      conversation: this.conversationValue,
      live: this.source.live,
      following: this.list.following,
      message: this.message,
    }, w)]);
    return frame;
  }

  private emptyListText(loaded: boolean): string {
    if (!loaded) return "loading...";
    if (this.filterValue !== null || this.conversationValue !== null) return "no exchange matches the filter";
    return "no RPC exchanges in this capture";
  }
}
