/**
 * A collapsible tree flattened into the lines that are visible. Flattening is a
 * loop with an explicit stack: the depth of a decoded body comes from the packet,
 * so no recursion follows it.
 *
 * Which nodes are open is remembered by path (node keys, or sibling positions)
 * across exchanges, so opening "Credentials" once keeps it open on the next row,
 * as in Wireshark.
 */
import type { TreeNode } from "./data-source.js";

export interface FlatNode {
  readonly node: TreeNode;
  readonly depth: number;
  /** Identity of the node for the expansion memory. */
  readonly path: string;
  /** Index of the parent line, -1 for a top-level node. */
  readonly parent: number;
  readonly expandable: boolean;
  readonly expanded: boolean;
}

/** Remembered open/closed state by node path, bounded in size. */
export class ExpansionMemory {
  private readonly states = new Map<string, boolean>();

  constructor(private readonly capacity = 10_000) {}

  get(path: string): boolean | undefined {
    return this.states.get(path);
  }

  set(path: string, expanded: boolean): void {
    this.states.delete(path); // re-insert: Map order is then least recently set first
    this.states.set(path, expanded);
    if (this.states.size > this.capacity) {
      const oldest = this.states.keys().next();
      if (!oldest.done) this.states.delete(oldest.value);
    }
  }
}

/** Nodes opened by one "expand all" are bounded so a huge body cannot stall the UI. */
export const EXPAND_ALL_LIMIT = 50_000;

export class TreeModel {
  private flat: FlatNode[] = [];

  constructor(
    private readonly roots: readonly TreeNode[],
    private readonly memory: ExpansionMemory,
    /** Depth up to which nodes start open when the memory has nothing (0: top level open). */
    private readonly defaultOpenDepth = 0,
  ) {
    this.rebuild();
  }

  get lines(): readonly FlatNode[] {
    return this.flat;
  }

  line(i: number): FlatNode | undefined {
    return this.flat[i];
  }

  /** Open or close the node on line `i`. The line keeps its index. */
  toggle(i: number): void {
    const line = this.flat[i];
    if (!line?.expandable) return;
    this.memory.set(line.path, !line.expanded);
    this.rebuild();
  }

  expand(i: number): void {
    const line = this.flat[i];
    if (line?.expandable && !line.expanded) this.toggle(i);
  }

  collapse(i: number): void {
    const line = this.flat[i];
    if (line?.expandable && line.expanded) this.toggle(i);
  }

  /** Open the node on line `i` and everything below it (up to EXPAND_ALL_LIMIT nodes). */
  expandAll(i: number): void {
    const line = this.flat[i];
    if (!line?.expandable) return;
    const stack: { node: TreeNode; path: string }[] = [{ node: line.node, path: line.path }];
    let opened = 0;
    while (stack.length > 0 && opened < EXPAND_ALL_LIMIT) {
      const { node, path } = stack.pop() as { node: TreeNode; path: string };
      if (node.children.length === 0) continue;
      this.memory.set(path, true);
      opened++;
      node.children.forEach((child, index) => stack.push({ node: child, path: childPath(path, child, index) }));
    }
    this.rebuild();
  }

  private isOpen(path: string, depth: number): boolean {
    return this.memory.get(path) ?? depth <= this.defaultOpenDepth;
  }

  private rebuild(): void {
    const out: FlatNode[] = [];
    const stack: { node: TreeNode; depth: number; path: string; parent: number }[] = [];
    for (let i = this.roots.length - 1; i >= 0; i--) {
      const node = this.roots[i] as TreeNode;
      stack.push({ node, depth: 0, path: childPath("", node, i), parent: -1 });
    }
    while (stack.length > 0) {
      const item = stack.pop() as { node: TreeNode; depth: number; path: string; parent: number };
      const expandable = item.node.children.length > 0;
      const expanded = expandable && this.isOpen(item.path, item.depth);
      const index = out.length;
      out.push({ node: item.node, depth: item.depth, path: item.path, parent: item.parent, expandable, expanded });
      if (!expanded) continue;
      const children = item.node.children;
      for (let c = children.length - 1; c >= 0; c--) {
        const child = children[c] as TreeNode;
        stack.push({ node: child, depth: item.depth + 1, path: childPath(item.path, child, c), parent: index });
      }
    }
    this.flat = out;
  }
}

function childPath(parentPath: string, node: TreeNode, index: number): string {
  return parentPath + "/" + (node.key ?? `#${index}`);
}
