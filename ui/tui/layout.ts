/** Where each pane goes for a terminal size: list on top, detail, bytes, status line. */

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface ScreenLayout {
  readonly list: Rect;
  /** null when the terminal is too low to show it. */
  readonly tree: Rect | null;
  readonly bytes: Rect | null;
  /** Statistics and help cover everything but the status line. */
  readonly overlay: Rect;
  /** The filter prompt's two lines, drawn over the bottom of the panes. */
  readonly prompt: Rect;
  readonly status: Rect;
}

export function computeLayout(width: number, height: number): ScreenLayout {
  const w = Math.max(1, width);
  const h = Math.max(2, height);
  const area = h - 1;
  const status = { x: 0, y: h - 1, width: w, height: 1 };
  const overlay = { x: 0, y: 0, width: w, height: area };
  const prompt = { x: 0, y: Math.max(0, area - 2), width: w, height: Math.min(2, area) };
  if (area >= 14) {
    const listHeight = Math.max(4, Math.round(area * 0.45));
    const treeHeight = Math.max(3, Math.round(area * 0.3));
    const bytesHeight = area - listHeight - treeHeight;
    return {
      list: { x: 0, y: 0, width: w, height: listHeight },
      tree: { x: 0, y: listHeight, width: w, height: treeHeight },
      bytes: { x: 0, y: listHeight + treeHeight, width: w, height: bytesHeight },
      overlay, prompt, status,
    };
  }
  if (area >= 8) {
    const listHeight = Math.ceil(area * 0.6);
    return {
      list: { x: 0, y: 0, width: w, height: listHeight },
      tree: { x: 0, y: listHeight, width: w, height: area - listHeight },
      bytes: null,
      overlay, prompt, status,
    };
  }
  return { list: { x: 0, y: 0, width: w, height: area }, tree: null, bytes: null, overlay, prompt, status };
}

export function contains(rect: Rect, x: number, y: number): boolean {
  return x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height;
}
