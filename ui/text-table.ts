/**
 * Texts the TUI's stores keep for every row or message but that repeat (statuses,
 * endpoints, addresses): each kept once and referred to by a 32-bit number, 4
 * bytes where a reference to a string costs 8.
 */

/**
 * Strings kept once, each under a number. Deduplicated up to `limit` distinct
 * texts; past that, new texts are still kept (a row needs its text) but each
 * under a number of its own, so a capture cannot grow the lookup map without end.
 */
export class TextTable {
  private readonly ids = new Map<string, number>();
  private readonly texts: string[] = [];
  constructor(private readonly limit: number) {}

  id(text: string): number {
    const known = this.ids.get(text);
    if (known !== undefined) return known;
    const id = this.texts.length;
    this.texts.push(text);
    if (this.ids.size < this.limit) this.ids.set(text, id);
    return id;
  }

  text(id: number): string {
    return this.texts[id]!;
  }
}
