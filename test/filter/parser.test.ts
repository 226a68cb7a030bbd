import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FilterError, filterErrorPointer, formatExpr, MAX_NESTING, parseFilter } from "../../ui/filter/parser.js";
import { compileFilter } from "../../ui/filter/evaluate.js";
import { MAX_FILTER_LENGTH } from "../../ui/filter/lexer.js";
import { describeFields, filterHelp } from "../../ui/filter/fields.js";

describe("accepted filters print back canonically", () => {
  const table: [string, string][] = [
    ["prog == nfs", "prog == nfs"],
    ["prog eq nfs and proc == READ or not unmatched", "prog == nfs && proc == READ || !unmatched"],
    ["prog == nfs AND vers == 3 OR NOT error", "prog == nfs && vers == 3 || !error"],
    ["(prog == nfs || prog == mount) && rtt > 5ms", "(prog == nfs || prog == mount) && rtt > 5ms"],
    ["prog == nfs || prog == mount && rtt > 5ms", "prog == nfs || prog == mount && rtt > 5ms"],
    ["(prog == nfs && vers == 3) || error", "prog == nfs && vers == 3 || error"],
    ["((unmatched))", "unmatched"],
    ["!(unmatched)", "!unmatched"],
    ["not not error", "!!error"],
    ["!(prog == nfs)", "!(prog == nfs)"],
    ["!prog == nfs", "!(prog == nfs)"],
    ["!(error || unmatched)", "!(error || unmatched)"],
    ["(error || unmatched) || malformed", "error || unmatched || malformed"],
    ["error && (unmatched && malformed)", "error && unmatched && malformed"],
    ["error && (unmatched || malformed)", "error && (unmatched || malformed)"],
    ["proc in {READ, WRITE COMMIT}", "proc in {READ, WRITE, COMMIT}"],
    ["proc in {6}", "proc in {6}"],
    ["machine ~ \"(?i)^build\"", "machine matches \"(?i)^build\""],
    ["machine matches \"\\d+\"", "machine matches \"\\\\d+\""],
    ["xid == 0x1A2b", "xid == 0x1A2b"],
    ["xid==1&&vers!=3", "xid == 1 && vers != 3"],
    ["proc ne 6", "proc != 6"],
    ["vers lt 3 && vers le 3 && vers gt 1 && vers ge 1", "vers < 3 && vers <= 3 && vers > 1 && vers >= 1"],
    ["args.what.name == \"foo.txt\"", "args.what.name == \"foo.txt\""],
    ["len(res.data) >= 4k", "len(res.data) >= 4k"],
    ["LEN(args.data) > 0", "len(args.data) > 0"],
    ["res", "res"],
    ["!args.what", "!args.what"],
    ["client == [fe80::1]:2049", "client == [fe80::1]:2049"],
    ["server == 10.0.0.1:2049", "server == 10.0.0.1:2049"],
    ["client contains 10.0", "client contains 10.0"],
    ["rtt<=2.5ms&&size>1k", "rtt <= 2.5ms && size > 1k"],
    ["rtt > 250us || rtt > 1s || rtt > 10ns || rtt > 0.5", "rtt > 250us || rtt > 1s || rtt > 10ns || rtt > 0.5"],
    ["machine == \"a\\\"b\\\\c\\n\\x01\\u{202e}\"", "machine == \"a\\\"b\\\\c\\n\\x01\\u{202e}\""],
    ["machine == \"\\x41\\u{1F600}\\t\\r\"", "machine == \"A\u{1F600}\\t\\r\""],
    ["args.offset > -1", "args.offset > -1"],
    ["op == OP_READ || op == read", "op == OP_READ || op == read"],
    ["status == NFS3ERR_NOENT", "status == NFS3ERR_NOENT"],
    ["auth == RPCSEC_GSS || auth == 1", "auth == RPCSEC_GSS || auth == 1"],
    ["kind == reply && transport == UDP", "kind == reply && transport == UDP"],
    ["issue == trailing-bytes", "issue == trailing-bytes"],
    ["uid == 0 && gid == 100 && port == 2049 && frame <= 10", "uid == 0 && gid == 100 && port == 2049 && frame <= 10"],
    ["size > 1m || size > 1g || size > 3K", "size > 1m || size > 1g || size > 3K"],
    ["retransmission", "retransmission"],
    ["prog == \"and\"", "prog == \"and\""],
    ["  prog\t==\nnfs  ", "prog == nfs"],
  ];
  it.each(table)("%s", (input, canonical) => {
    expect(formatExpr(parseFilter(input))).toBe(canonical);
    // The canonical form is a fixed point.
    expect(formatExpr(parseFilter(canonical))).toBe(canonical);
  });

  it("keeps long && chains flat (no deep trees)", () => {
    const text = Array.from({ length: 3000 }, (_, i) => `vers != ${i}`).join(" && ");
    const ast = parseFilter(text);
    expect(ast.kind).toBe("and");
    if (ast.kind === "and") expect(ast.operands).toHaveLength(3000);
  });

  it("accepts nesting up to the limit", () => {
    const depth = MAX_NESTING;
    const text = `${"(".repeat(depth)}error${")".repeat(depth)}`;
    expect(formatExpr(parseFilter(text))).toBe("error");
    expect(formatExpr(parseFilter(`${"!".repeat(MAX_NESTING)}error`))).toBe(`${"!".repeat(MAX_NESTING)}error`);
  });
});

describe("every error message", () => {
  const table: [string, number, string][] = [
    ["", 1, "expected a field name, found end of expression"],
    ["prog ==", 8, "expected a value after '==', found end of expression"],
    ["prog == )", 9, "expected a value after '==', found ')'"],
    ["prog == and", 9, "expected a value after '==', found 'and' (quote it to compare with the word)"],
    ["prog nfs", 6, "expected an operator after 'prog' (==, !=, <, <=, >, >=, contains, matches, in), found 'nfs'"],
    ["prog", 5, "expected an operator after 'prog' (==, !=, <, <=, >, >=, contains, matches, in), found end of expression"],
    ["len(args.x)", 12, "expected an operator after 'len(…)', found end of expression"],
    ["rttt > 5", 1, "unknown field 'rttt' (did you mean 'rtt'?)"],
    ["PROG == nfs", 1, "unknown field 'PROG' (did you mean 'prog'?)"],
    ["vers == 3 && protocol == 1", 14, "unknown field 'protocol'"],
    ["rpc.xid == 1", 1, "unknown field 'rpc.xid' (did you mean 'xid'?)"],
    ["arg.x == 1", 1, "unknown field 'arg.x' (did you mean 'args.x'?)"],
    ["nfs.status == 1", 1, "unknown field 'nfs.status' (body fields are args.NAME or res.NAME)"],
    ["(prog == nfs", 13, "expected ')' to close '(' at column 1, found end of expression"],
    ["error && (unmatched error", 21, "expected ')' to close '(' at column 10, found 'error'"],
    ["prog == nfs)", 12, "expected '&&', '||' or end of expression, found ')'"],
    ["prog == nfs proc == READ", 13, "expected '&&', '||' or end of expression, found 'proc'"],
    ["&& prog", 1, "expected a field name, found '&&'"],
    ["error &&", 9, "expected a field name, found end of expression"],
    ["error || or", 10, "expected a field name, found 'or'"],
    ["()", 2, "expected a field name, found ')'"],
    ["== 3", 1, "expected a field name, found '=='"],
    ["5 == prog", 1, "unknown field '5'"],
    ["prog = nfs", 6, "unexpected '=', use '==' to compare"],
    ["error & unmatched", 7, "unexpected '&', use '&&' (or 'and')"],
    ["error | unmatched", 7, "unexpected '|', use '||' (or 'or')"],
    ["prog == nfs @", 13, "unexpected character '@'"],
    ["machine == \u001b[2J", 12, "unexpected character '\\x1b'"],
    ["machine == 'x'", 12, "unexpected \"'\": strings use double quotes"],
    ["machine == \"abc", 12, "unterminated string: expected '\"' before end of expression"],
    ["machine == \"abc\\", 12, "unterminated string: expected '\"' before end of expression"],
    ["machine == \"\\xZZ\"", 13, "invalid escape in string: '\\x' needs two hex digits"],
    ["machine == \"\\u{110000}\"", 13, "invalid escape in string: '\\u' needs {hex digits} up to 10FFFF"],
    ["machine == \"\\u0041\"", 13, "invalid escape in string: '\\u' needs {hex digits} up to 10FFFF"],
    ["rtt > READ", 7, "expected a duration (like 5ms, 250us, 1.5s) or a number of seconds for 'rtt', found 'READ'"],
    ["rtt == 1k", 8, "expected a duration (like 5ms, 250us, 1.5s) or a number of seconds for 'rtt', found '1k'"],
    ["xid == foo", 8, "expected a number for 'xid', found 'foo'"],
    ["xid == 0x", 8, "expected a number for 'xid', found '0x'"],
    ["size > 5ms", 8, "expected a number for 'size', found '5ms'"],
    ["vers == \"3\"", 9, "expected a number for 'vers', found '\"3\"'"],
    ["proc < READ", 8, "operator '<' needs a number, found 'READ'"],
    ["args.count >= \"x\"", 15, "operator '>=' needs a number, found '\"x\"'"],
    ["prog == 5ms", 9, "expected a name or a number for 'prog', found '5ms'"],
    ["machine < \"a\"", 9, "operator '<' cannot be used with 'machine' (a text field)"],
    ["client < 1", 8, "operator '<' cannot be used with 'client' (an address)"],
    ["transport >= tcp", 11, "operator '>=' cannot be used with 'transport' (a keyword)"],
    ["rtt contains \"x\"", 5, "operator 'contains' cannot be used with 'rtt' (a duration)"],
    ["frame matches \"1\"", 7, "operator 'matches' cannot be used with 'frame' (a number)"],
    ["len(args.data) contains 1", 16, "operator 'contains' cannot be used with 'len(args.data)' (a number)"],
    ["unmatched == 1", 11, "'unmatched' is a flag: use it alone ('unmatched' or '!unmatched'), found '=='"],
    ["error in {1}", 7, "'error' is a flag: use it alone ('error' or '!error'), found 'in'"],
    ["transport == tcpp", 14, "unknown transport 'tcpp' (expected tcp or udp)"],
    ["kind == foo", 9, "unknown kind 'foo' (expected call, reply, message, event or stream)"],
    ["auth == krb", 9, "unknown auth flavor 'krb' (expected none, sys, short, dh, gss, tls or a number)"],
    ["machine matches foo", 17, "expected a quoted regular expression after 'matches', found 'foo'"],
    ["machine matches \"(\"", 17, "invalid regular expression: Unterminated group"],
    ["len(rtt) > 1", 5, "len(…) takes an args. or res. path, found 'rtt'"],
    ["len() > 1", 5, "expected an args. or res. path in len(…), found ')'"],
    ["len(args.x > 1", 12, "expected ')' after len(args.x, found '>'"],
    ["len args", 5, "expected '(' after 'len', found 'args'"],
    ["args.", 6, "expected a field name after '.' in 'args.'"],
    ["args..x", 6, "expected a field name after '.' in 'args..x'"],
    ["res.a.b-c == 1", 7, "invalid name 'b-c' in path 'res.a.b-c'"],
    ["args.x[0] == 1", 6, "invalid name 'x[0]' in path 'args.x[0]' (indexes are not supported: an array matches if any element matches)"],
    ["proc in {}", 10, "expected a value in '{…}', found '}'"],
    ["proc in {READ", 14, "expected ',' or '}' to close '{' at column 9, found end of expression"],
    ["proc in {READ,", 15, "expected a value in '{…}', found end of expression"],
    ["proc in READ", 9, "expected '{' after 'in', found 'READ'"],
    ["transport in {tcp, sctp}", 20, "unknown transport 'sctp' (expected tcp or udp)"],
  ];
  it.each(table)("%j", (input, column, message) => {
    let caught: unknown;
    try {
      parseFilter(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FilterError);
    const err = caught as FilterError;
    expect(err.message).toBe(`column ${column}: ${message}`);
    expect(err.column).toBe(column);
    expect(err.expected.length).toBeGreaterThan(0);
  });

  it("rejects a too long regular expression", () => {
    const re = "a".repeat(1025);
    expect(() => parseFilter(`machine matches "${re}"`)).toThrow(
      "column 17: regular expression is too long (1025 characters, at most 1024)");
  });

  it("rejects nesting beyond the limit", () => {
    const d = MAX_NESTING + 1;
    expect(() => parseFilter(`${"(".repeat(d)}error${")".repeat(d)}`)).toThrow(
      `column ${d}: expression nested too deeply (more than ${MAX_NESTING} levels)`);
    expect(() => parseFilter(`${"!".repeat(d)}error`)).toThrow(
      `column ${d}: expression nested too deeply (more than ${MAX_NESTING} levels)`);
    expect(() => parseFilter(`${"(!".repeat(200)}error${")".repeat(200)}`)).toThrow(/nested too deeply/);
  });

  it("rejects a too long filter", () => {
    const text = "error || ".repeat(10_000) + "error";
    expect(() => parseFilter(text)).toThrow(
      `column ${MAX_FILTER_LENGTH + 1}: filter is too long (${text.length} characters, at most ${MAX_FILTER_LENGTH})`);
  });

  it("escapes control characters in messages", () => {
    expect(() => parseFilter("\u001b]0;x == 1")).toThrow("column 1: unexpected character '\\x1b'");
    expect(() => parseFilter("x\u009b == 1")).toThrow("column 2: unexpected character '\\u{9b}'");
  });
});

// Pieces that make random strings likely to get deep into the parser.
const PIECES = [
  "prog", "proc", "rtt", "xid", "client", "machine", "status", "op", "len(", "args.a.b", "res", "unmatched", "error",
  "==", "!=", "<", ">=", "contains", "matches", "in", "{", "}", ",", "(", ")", "!", "&&", "||", "and", "or", "not",
  "nfs", "READ", "5ms", "1k", "0x1f", "-3", "\"a\\\"b\"", "\"(\"", "\"\\u{zz}\"", "\"", "\\", "=", "&", "|", "'",
  "10.0.0.1:2049", "[::1]:1", " ", "\u001b", "\u202e", "é", "\ud800",
];

describe("robustness", () => {
  it("random strings throw nothing but FilterError", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
      try {
        compileFilter(s);
      } catch (e) {
        expect(e).toBeInstanceOf(FilterError);
      }
    }), { numRuns: 3000 });
  });

  it("random token soups throw nothing but FilterError, and what parses round-trips", () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 25 }), fc.array(fc.boolean(), { maxLength: 25 }), (parts, spaces) => {
      const text = parts.map((p, i) => (spaces[i] ? `${p} ` : p)).join("");
      let canonical: string;
      try {
        canonical = compileFilter(text).canonical;
      } catch (e) {
        expect(e).toBeInstanceOf(FilterError);
        return;
      }
      expect(formatExpr(parseFilter(canonical))).toBe(canonical);
    }), { numRuns: 5000 });
  });
});

describe("help", () => {
  it("describes every field with an example that compiles", () => {
    const fields = describeFields();
    expect(fields.length).toBeGreaterThanOrEqual(26);
    for (const f of fields) {
      expect(f.help.length).toBeGreaterThan(5);
      expect(() => compileFilter(f.example)).not.toThrow();
    }
  });

  it("filterHelp() examples compile", () => {
    const examples = filterHelp().split("Examples:\n")[1]!.split("\n\n")[0]!.split("\n").map((l) => l.trim()).filter(Boolean);
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const ex of examples) expect(() => compileFilter(ex)).not.toThrow();
    for (const f of describeFields()) expect(filterHelp()).toContain(f.name.split("(")[0]!);
  });
});

describe("filterErrorPointer", () => {
  it("puts the caret under the column", () => {
    expect(filterErrorPointer("prog == nfs &&", 15)).toEqual(["prog == nfs &&", "              ^"]);
    expect(filterErrorPointer("rttt > 5", 1)).toEqual(["rttt > 5", "^"]);
  });
  it("accounts for escapes before the column", () => {
    expect(filterErrorPointer("machine == \"\u001b\" @", 17)).toEqual(["machine == \"\\x1b\" @", "                   ^"]);
  });
  it("cuts long filters to a window around the column", () => {
    const src = `${"vers == 1 && ".repeat(20)}oops`;
    const [text, caret] = filterErrorPointer(src, src.length - 3, 40);
    expect(text.length).toBeLessThanOrEqual(42);
    expect(text.startsWith("…")).toBe(true);
    expect(text.slice(caret.length - 1, caret.length + 3)).toBe("oops");
  });
});
