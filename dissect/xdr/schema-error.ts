/**
 * The one error kind of the `.x` loader. Every error is located (file:line:col).
 * The loader collects several errors before giving up; the one it throws is the
 * first, and carries all of them in `errors` (its message lists them one a line).
 */
import type { SourcePos } from "../xdr-types.js";

export class SchemaError extends Error {
  /** This error and the ones collected with it, in the order found. */
  readonly errors: readonly SchemaError[];

  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    /** The message without its location. */
    readonly detail: string,
    others: readonly SchemaError[] = [],
  ) {
    const head = `${file}:${line}:${col}: ${detail}`;
    super(others.length ? [head, ...others.map((e) => e.located)].join("\n") : head);
    this.name = "SchemaError";
    this.errors = [this, ...others];
  }

  /** `file:line:col: detail` of this one error. */
  get located(): string {
    return `${this.file}:${this.line}:${this.col}: ${this.detail}`;
  }

  static at(pos: SourcePos, detail: string): SchemaError {
    return new SchemaError(pos.file, pos.line, pos.col, detail);
  }

  /** One error to throw for a list of collected ones (the list must not be empty). */
  static combine(errors: readonly SchemaError[]): SchemaError {
    const [first, ...rest] = errors;
    if (!first) throw new Error("SchemaError.combine needs at least one error");
    if (rest.length === 0) return first;
    return new SchemaError(first.file, first.line, first.col, first.detail, rest);
  }
}

export function formatPos(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}
