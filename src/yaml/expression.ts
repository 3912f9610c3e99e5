/**
 * Flujo's safe expression language (flujo/utils/expressions.py), ported as a tokenizer, a
 * recursive-descent parser to an AST and an interpreter. It never uses eval or Function: YAML files are
 * data, and an expression in one must not reach the process. Property access reads only own data
 * properties of plain values; `__proto__`, `constructor` and `prototype` are refused when parsed.
 *
 * Grammar (Python precedence):
 *   expr    := or
 *   or      := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | compare
 *   compare := postfix ((== | != | < | <= | > | >= | in | not in) postfix)*   (chained, as in Python)
 *   postfix := primary ("." name | "[" string | [-]integer "]" | "." method "(" args ")")*
 *   primary := number | string | True | False | None | name | "(" expr ")" | "[" expr, ... "]"
 */

/** The one error type the evaluator throws, at parse time or at evaluation time. */
export class ExpressionError extends Error {
  /** Offset in the expression text where the problem is, when known. */
  readonly position: number | undefined;
  constructor(message: string, position?: number) {
    super(message);
    this.name = "ExpressionError";
    this.position = position;
  }
}

export type Node =
  | { type: "literal"; value: unknown }
  | { type: "name"; name: string }
  | { type: "list"; items: Node[] }
  | { type: "attr"; object: Node; name: string }
  | { type: "index"; object: Node; key: string | number }
  | { type: "call"; object: Node; method: string; args: Node[] }
  | { type: "not"; operand: Node }
  | { type: "bool"; op: "and" | "or"; values: Node[] }
  | { type: "compare"; left: Node; ops: CompareOp[]; rights: Node[] };

type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";

/** The names an expression may use (Flujo's list). */
export const EXPRESSION_NAMES: ReadonlySet<string> = new Set([
  "previous_step",
  "output",
  "context",
  "steps",
  "resume_input",
]);

const FORBIDDEN: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
const METHODS: ReadonlySet<string> = new Set(["get", "lower", "upper", "strip", "startswith", "endswith"]);
/** Bounds that keep a hostile expression from exhausting the stack or memory. */
const MAX_LENGTH = 10_000;
const MAX_DEPTH = 64;

interface Token {
  kind: "num" | "str" | "name" | "op" | "end";
  value: string | number;
  pos: number;
}

const OPERATORS = ["==", "!=", "<=", ">=", "<", ">", ".", "[", "]", "(", ")", ",", "-"];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(ch)) {
      const m = /^(?:[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ kind: "num", value: Number(m[0]), pos: start });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ kind: "name", value: m[0], pos: start });
      i += m[0].length;
      continue;
    }
    if (ch === "'" || ch === '"') {
      let out = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new ExpressionError("unterminated string literal", start);
        const c = text[i] as string;
        if (c === ch) break;
        if (c === "\\") {
          const next = text[i + 1];
          if (next === undefined) throw new ExpressionError("unterminated string literal", start);
          out += next === "n" ? "\n" : next === "t" ? "\t" : next;
          i += 2;
          continue;
        }
        out += c;
        i++;
      }
      i++;
      tokens.push({ kind: "str", value: out, pos: start });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op === undefined) throw new ExpressionError(`unexpected character ${JSON.stringify(ch)}`, start);
    tokens.push({ kind: "op", value: op, pos: start });
    i += op.length;
  }
  tokens.push({ kind: "end", value: "", pos: text.length });
  return tokens;
}

class Parser {
  #i = 0;
  #depth = 0;
  constructor(
    readonly tokens: Token[],
    readonly names: ReadonlySet<string>,
  ) {}

  get #tok(): Token {
    return this.tokens[this.#i] as Token;
  }
  #isOp(value: string): boolean {
    return this.#tok.kind === "op" && this.#tok.value === value;
  }
  #isWord(value: string): boolean {
    return this.#tok.kind === "name" && this.#tok.value === value;
  }
  #expectOp(value: string): void {
    if (!this.#isOp(value)) throw this.#unexpected(`expected '${value}'`);
    this.#i++;
  }
  #unexpected(why: string): ExpressionError {
    const t = this.#tok;
    const what = t.kind === "end" ? "end of expression" : `'${String(t.value)}'`;
    return new ExpressionError(`${why}, found ${what}`, t.pos);
  }
  #enter(): void {
    if (++this.#depth > MAX_DEPTH)
      throw new ExpressionError("expression is nested too deeply", this.#tok.pos);
  }

  parse(): Node {
    const node = this.#or();
    if (this.#tok.kind !== "end") throw this.#unexpected("expected the end of the expression");
    return node;
  }

  #or(): Node {
    this.#enter();
    const values = [this.#and()];
    while (this.#isWord("or")) {
      this.#i++;
      values.push(this.#and());
    }
    this.#depth--;
    return values.length === 1 ? (values[0] as Node) : { type: "bool", op: "or", values };
  }

  #and(): Node {
    const values = [this.#not()];
    while (this.#isWord("and")) {
      this.#i++;
      values.push(this.#not());
    }
    return values.length === 1 ? (values[0] as Node) : { type: "bool", op: "and", values };
  }

  #not(): Node {
    if (this.#isWord("not")) {
      this.#i++;
      this.#enter();
      const operand = this.#not();
      this.#depth--;
      return { type: "not", operand };
    }
    return this.#compare();
  }

  #compare(): Node {
    const left = this.#postfix();
    const ops: CompareOp[] = [];
    const rights: Node[] = [];
    for (;;) {
      const t = this.#tok;
      let op: CompareOp | undefined;
      if (t.kind === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.value as string)) {
        op = t.value as CompareOp;
        this.#i++;
      } else if (this.#isWord("in")) {
        op = "in";
        this.#i++;
      } else if (this.#isWord("not") && this.tokens[this.#i + 1]?.value === "in") {
        op = "not in";
        this.#i += 2;
      }
      if (op === undefined) break;
      ops.push(op);
      rights.push(this.#postfix());
    }
    return ops.length === 0 ? left : { type: "compare", left, ops, rights };
  }

  #postfix(): Node {
    let node = this.#primary();
    for (;;) {
      if (this.#isOp(".")) {
        this.#i++;
        const t = this.#tok;
        if (t.kind !== "name") throw this.#unexpected("expected an attribute name after '.'");
        const name = t.value as string;
        checkKey(name, t.pos);
        this.#i++;
        if (this.#isOp("(")) {
          if (!METHODS.has(name)) {
            throw new ExpressionError(
              `call of '${name}' is not allowed (only .get(), .lower(), .upper(), .strip(), .startswith(), .endswith())`,
              t.pos,
            );
          }
          this.#i++;
          const args: Node[] = [];
          while (!this.#isOp(")")) {
            args.push(this.#or());
            if (!this.#isOp(",")) break;
            this.#i++;
          }
          this.#expectOp(")");
          node = { type: "call", object: node, method: name, args };
        } else {
          node = { type: "attr", object: node, name };
        }
        continue;
      }
      if (this.#isOp("[")) {
        this.#i++;
        // A negative index (items[-1]) is the one place a minus sign is allowed.
        const negative = this.#isOp("-");
        if (negative) this.#i++;
        const t = this.#tok;
        let key: string | number;
        if (negative && !(t.kind === "num" && Number.isInteger(t.value))) {
          throw this.#unexpected("expected an integer after '-' in a subscript");
        }
        if (negative) key = -(t.value as number);
        else if (t.kind === "str") key = t.value as string;
        else if (t.kind === "num" && Number.isInteger(t.value)) key = t.value as number;
        else throw this.#unexpected("only string or integer literal keys are allowed in subscripts");
        if (typeof key === "string") checkKey(key, t.pos);
        this.#i++;
        this.#expectOp("]");
        node = { type: "index", object: node, key };
        continue;
      }
      if (this.#isOp("(")) throw new ExpressionError("only method calls are allowed", this.#tok.pos);
      return node;
    }
  }

  #primary(): Node {
    const t = this.#tok;
    if (t.kind === "num" || t.kind === "str") {
      this.#i++;
      return { type: "literal", value: t.value };
    }
    if (t.kind === "name") {
      const word = t.value as string;
      this.#i++;
      if (word === "True" || word === "true") return { type: "literal", value: true };
      if (word === "False" || word === "false") return { type: "literal", value: false };
      if (word === "None" || word === "null") return { type: "literal", value: null };
      if (["and", "or", "not", "in"].includes(word)) {
        this.#i--;
        throw this.#unexpected("expected a value");
      }
      if (!this.names.has(word)) {
        throw new ExpressionError(`unknown name '${word}' (use ${[...this.names].join(", ")})`, t.pos);
      }
      return { type: "name", name: word };
    }
    if (this.#isOp("(")) {
      this.#i++;
      this.#enter();
      const inner = this.#or();
      this.#depth--;
      this.#expectOp(")");
      return inner;
    }
    if (this.#isOp("[")) {
      this.#i++;
      this.#enter();
      const items: Node[] = [];
      while (!this.#isOp("]")) {
        items.push(this.#or());
        if (!this.#isOp(",")) break;
        this.#i++;
      }
      this.#expectOp("]");
      this.#depth--;
      return { type: "list", items };
    }
    throw this.#unexpected("expected a value");
  }
}

function checkKey(key: string, pos: number): void {
  if (FORBIDDEN.has(key)) throw new ExpressionError(`access to '${key}' is not allowed`, pos);
}

/** Parses an expression once; the AST is frozen and can be evaluated any number of times. */
export function parseExpression(text: string, names: ReadonlySet<string> = EXPRESSION_NAMES): Node {
  if (typeof text !== "string") throw new ExpressionError("an expression must be a string");
  if (text.length > MAX_LENGTH)
    throw new ExpressionError(`expression is longer than ${MAX_LENGTH} characters`);
  if (text.trim() === "") throw new ExpressionError("empty expression");
  return deepFreeze(new Parser(tokenize(text), names).parse());
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * A value that answers attribute access itself: the context (which falls back to step outputs by name,
 * as Flujo's TemplateContextProxy does) and the entries of `steps` in templates (`.output`, `.result`,
 * `.value`). `unwrap()` is what comparisons and rendering see.
 */
export class ScopeProxy {
  readonly #get: (key: string) => unknown;
  readonly #value: unknown;
  constructor(value: unknown, get: (key: string) => unknown) {
    this.#value = value;
    this.#get = get;
    Object.freeze(this);
  }
  get(key: string): unknown {
    return this.#get(key);
  }
  unwrap(): unknown {
    return this.#value;
  }
}

export type Scope = Readonly<Record<string, unknown>>;

/** Reads an own data property of a plain object or array; anything else reads as null (Python's None). */
export function readProperty(object: unknown, key: string | number): unknown {
  if (object instanceof ScopeProxy) return typeof key === "string" ? object.get(key) : null;
  if (typeof object === "string" && typeof key === "number") {
    const i = key < 0 ? object.length + key : key;
    return i >= 0 && i < object.length ? object[i] : null;
  }
  if (typeof object !== "object" || object === null) return null;
  if (Array.isArray(object)) {
    if (typeof key !== "number") return null;
    const i = key < 0 ? object.length + key : key;
    return i >= 0 && i < object.length ? (object[i] ?? null) : null;
  }
  const name = String(key);
  if (FORBIDDEN.has(name)) return null;
  const desc = Object.getOwnPropertyDescriptor(object, name);
  if (desc === undefined || !("value" in desc)) return null;
  return desc.value ?? null;
}

/** Evaluates a parsed expression against a scope. Throws only ExpressionError. */
export function evaluate(node: Node, scope: Scope): unknown {
  try {
    return evalNode(node, scope);
  } catch (err) {
    if (err instanceof ExpressionError) throw err;
    // A hostile value (a throwing proxy, a stack overflow) must not escape as another error type.
    throw new ExpressionError(`expression failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function evalNode(node: Node, scope: Scope): unknown {
  switch (node.type) {
    case "literal":
      return node.value;
    case "name":
      return Object.hasOwn(scope, node.name) ? (scope[node.name] ?? null) : null;
    case "list":
      return node.items.map((item) => plain(evalNode(item, scope)));
    case "attr":
      return readProperty(evalNode(node.object, scope), node.name);
    case "index":
      return readProperty(evalNode(node.object, scope), node.key);
    case "call":
      return call(plain(evalNode(node.object, scope)), node.method, node.args, scope);
    case "not":
      return !truthy(evalNode(node.operand, scope));
    case "bool":
      if (node.op === "and") {
        for (const v of node.values) if (!truthy(evalNode(v, scope))) return false;
        return true;
      }
      for (const v of node.values) if (truthy(evalNode(v, scope))) return true;
      return false;
    case "compare": {
      let left = evalNode(node.left, scope);
      for (let i = 0; i < node.ops.length; i++) {
        const right = evalNode(node.rights[i] as Node, scope);
        if (!compare(node.ops[i] as CompareOp, plain(left), plain(right))) return false;
        left = right;
      }
      return true;
    }
  }
}

function call(object: unknown, method: string, argNodes: Node[], scope: Scope): unknown {
  if (object === null || object === undefined) return null;
  const args = argNodes.map((a) => plain(evalNode(a, scope)));
  const refuse = (): never => {
    throw new ExpressionError(
      `unsupported call .${method}() with ${args.length} argument(s) on ${typeName(object)}`,
    );
  };
  if (method === "get" && isRecord(object)) {
    if (args.length !== 1 && args.length !== 2) refuse();
    if (typeof args[0] !== "string") refuse();
    const value = readProperty(object, args[0] as string);
    const present = Object.hasOwn(object, args[0] as string) && !FORBIDDEN.has(args[0] as string);
    return present ? value : (args[1] ?? null);
  }
  if (typeof object === "string") {
    if (method === "lower" && args.length === 0) return object.toLowerCase();
    if (method === "upper" && args.length === 0) return object.toUpperCase();
    if (method === "strip" && args.length === 0) return object.trim();
    if ((method === "startswith" || method === "endswith") && args.length === 1) {
      if (typeof args[0] !== "string") refuse();
      return method === "startswith"
        ? object.startsWith(args[0] as string)
        : object.endsWith(args[0] as string);
    }
  }
  return refuse();
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null || value === undefined) return "None";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof ScopeProxy)
  );
}

function plain(value: unknown): unknown {
  return value instanceof ScopeProxy ? value.unwrap() : value;
}

/** Python truthiness: empty strings, lists and objects, 0 and None are false. */
export function truthy(value: unknown): boolean {
  const v = plain(value);
  if (v === null || v === undefined || v === false || v === 0 || v === "" || Number.isNaN(v)) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") {
    if (v instanceof Map || v instanceof Set) return v.size > 0;
    return Object.keys(v).length > 0;
  }
  return true;
}

/** Flujo coerces numeric strings before comparing ("3" > 2 is true). */
function coerceNumber(value: unknown): unknown {
  if (typeof value === "string" && /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/.test(value)) {
    return Number(value);
  }
  return value;
}

function compare(op: CompareOp, leftRaw: unknown, rightRaw: unknown): boolean {
  const left = coerceNumber(leftRaw);
  const right = coerceNumber(rightRaw);
  switch (op) {
    case "==":
      return equal(left, right);
    case "!=":
      return !equal(left, right);
    case "in":
    case "not in": {
      const hit = contains(rightRaw, leftRaw);
      if (hit === undefined) return op === "not in";
      return op === "in" ? hit : !hit;
    }
    default: {
      const bothNumbers = typeof left === "number" && typeof right === "number";
      const bothStrings = typeof left === "string" && typeof right === "string";
      if (!bothNumbers && !bothStrings) return false;
      const l = left as number | string;
      const r = right as number | string;
      if (op === "<") return l < r;
      if (op === "<=") return l <= r;
      if (op === ">") return l > r;
      return l >= r;
    }
  }
}

/** `needle in haystack`; undefined when the haystack is not a container (Flujo: in is false, not in true). */
function contains(haystack: unknown, needle: unknown): boolean | undefined {
  if (typeof haystack === "string") return typeof needle === "string" ? haystack.includes(needle) : false;
  if (Array.isArray(haystack))
    return haystack.some((item) => equal(coerceNumber(item), coerceNumber(needle)));
  if (isRecord(haystack)) {
    return typeof needle === "string" && !FORBIDDEN.has(needle) && Object.hasOwn(haystack, needle);
  }
  return undefined;
}

const MAX_EQUAL_DEPTH = 100;

function equal(a: unknown, b: unknown, depth = 0): boolean {
  if (depth > MAX_EQUAL_DEPTH) throw new ExpressionError("values are nested too deeply to compare");
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => equal(v, b[i], depth + 1));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && equal(readProperty(a, k), readProperty(b, k), depth + 1));
}

/** A compiled expression: parse once, call with a scope. */
export interface CompiledExpression {
  readonly source: string;
  evaluate(scope: Scope): unknown;
}

export function compileExpression(source: string): CompiledExpression {
  const ast = parseExpression(source);
  return Object.freeze({ source, evaluate: (scope: Scope) => evaluate(ast, scope) });
}
