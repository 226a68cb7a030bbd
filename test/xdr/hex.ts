/**
 * Annotated hex for table tests, one XDR word a row:
 *   0x00000001 // TRUE
 *   6e 66 73 00 // "nfs" + padding
 * Everything after `//` is a comment; blank rows are ignored.
 */
export function hex(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const raw of text.split("\n")) {
    const row = raw.replace(/\/\/.*$/, "").trim();
    if (!row) continue;
    for (const token of row.split(/\s+/)) {
      const digits = token.startsWith("0x") ? token.slice(2) : token;
      if (!/^([0-9a-fA-F]{2})+$/.test(digits)) throw new Error(`bad hex token '${token}' in row '${raw}'`);
      for (let i = 0; i < digits.length; i += 2) bytes.push(Number.parseInt(digits.slice(i, i + 2), 16));
    }
  }
  return Uint8Array.from(bytes);
}
