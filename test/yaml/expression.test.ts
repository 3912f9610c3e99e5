import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileExpression, ExpressionError, parseExpression } from "../../src/yaml/expression.js";
import { expressionScope, templateScope } from "../../src/yaml/scope.js";
import { compileTemplate } from "../../src/yaml/template.js";

const ctx = {
  runId: "r1",
  initialPrompt: "hi",
  n: 4,
  tags: ["a", "b"],
  user: { name: "Ada", plan: "pro" },
  score: "0.9",
  stepOutputs: { draft: "text", check: { ok: true } },
  hitlHistory: [{ messageToHuman: "ok?", humanResponse: "yes", timestamp: "t" }],
};
const ev = (source: string, output: unknown = { ok: true, items: [1, 2] }) =>
  compileExpression(source).evaluate(expressionScope(output, ctx));

describe("expressions (Flujo's safe subset)", () => {
  it("names, attributes, subscripts, literals", () => {
    expect(ev("context.n")).toBe(4);
    expect(ev("context.user.name")).toBe("Ada");
    expect(ev("context['user']['plan']")).toBe("pro");
    expect(ev("previous_step.items[1]")).toBe(2);
    expect(ev("output.items[-1]")).toBe(2);
    expect(ev("steps.check.ok")).toBe(true);
    expect(ev("steps['draft']")).toBe("text");
    expect(ev("resume_input")).toBe("yes");
    expect(ev("[1, 'a', True, None]")).toEqual([1, "a", true, null]);
    expect(ev("context.missing.deeper")).toBeNull();
  });

  it("the context falls back to step outputs by name, and snake_case names find camelCase fields", () => {
    expect(ev("context.draft")).toBe("text");
    expect(ev("context.initial_prompt")).toBe("hi");
    expect(ev("context.run_id == 'r1'")).toBe(true);
  });

  it("boolean logic and comparisons, chained, with Flujo's numeric coercion of strings", () => {
    expect(ev("context.n > 3 and previous_step.ok")).toBe(true);
    expect(ev("not context.n > 3 or False")).toBe(false);
    expect(ev("1 < context.n <= 4")).toBe(true);
    expect(ev("context.score > 0.5")).toBe(true);
    expect(ev("'a' in context.tags and 'z' not in context.tags")).toBe(true);
    expect(ev("'user' in context.user")).toBe(false);
    expect(ev("'name' in context.user")).toBe(true);
    expect(ev("'da' in context.user.name")).toBe(true);
    expect(ev("context.user == {}".replace("{}", "context.user"))).toBe(true);
    expect(ev("[1, 2] == previous_step.items")).toBe(true);
    expect(ev("context.n < 'x'")).toBe(false);
    expect(ev("1 in None")).toBe(false);
    expect(ev("1 not in None")).toBe(true);
  });

  it("the allow-listed methods only", () => {
    expect(ev("context.user.get('plan')")).toBe("pro");
    expect(ev("context.user.get('nope', 'free')")).toBe("free");
    expect(ev("context.user.name.lower()")).toBe("ada");
    expect(ev("context.user.name.upper().startswith('AD')")).toBe(true);
    expect(ev("' x '.strip()")).toBe("x");
    expect(() => ev("context.tags.get('a')")).toThrow(ExpressionError);
    expect(() => parseExpression("context.user.name.replace('a', 'b')")).toThrow(
      /call of 'replace' is not allowed/,
    );
    expect(() => parseExpression("len(context.tags)")).toThrow(/unknown name 'len'/);
    expect(() => parseExpression("context()")).toThrow(/only method calls/);
  });

  it("refuses prototype names, unknown names, non-literal subscripts and other syntax", () => {
    for (const bad of [
      "context.__proto__",
      "context['constructor']",
      "context.user.prototype",
      "process.env",
      "globalThis",
      "context[context.n]",
      "context.n + 1",
      "-1",
      "lambda: 1",
      "context.n if True else 2",
      "'unterminated",
      "",
      "context.",
      "(context.n",
    ]) {
      expect(() => parseExpression(bad), bad).toThrow(ExpressionError);
    }
  });

  it("does not read inherited or accessor properties", () => {
    const tricky = Object.create({ inherited: "no" }) as Record<string, unknown>;
    Object.defineProperty(tricky, "getter", { get: () => "no", enumerable: true });
    tricky.own = "yes";
    const scope = expressionScope(tricky, {});
    expect(compileExpression("output.own").evaluate(scope)).toBe("yes");
    expect(compileExpression("output.inherited").evaluate(scope)).toBeNull();
    expect(compileExpression("output.getter").evaluate(scope)).toBeNull();
    expect(compileExpression("output.toString").evaluate(scope)).toBeNull();
    expect(compileExpression("output.hasOwnProperty").evaluate(scope)).toBeNull();
  });

  it("bounds nesting", () => {
    expect(() => parseExpression(`${"(".repeat(200)}1${")".repeat(200)}`)).toThrow(/nested too deeply/);
    expect(() => parseExpression(`${"not ".repeat(200)}True`)).toThrow(/nested too deeply/);
  });

  it("fuzz: any text either parses or throws ExpressionError, and evaluation throws nothing else", () => {
    const pieces = fc.constantFrom(
      "context",
      "previous_step",
      "output",
      "steps",
      "resume_input",
      ".",
      "[",
      "]",
      "(",
      ")",
      ",",
      "'a'",
      '"__proto__"',
      "__proto__",
      "constructor",
      "prototype",
      "get",
      "lower",
      "upper",
      "strip",
      "startswith",
      "and",
      "or",
      "not",
      "in",
      "==",
      "!=",
      "<",
      "<=",
      ">",
      ">=",
      "1",
      "0",
      "-",
      "+",
      "True",
      "None",
      "n",
      "tags",
      "user",
      "name",
      "x",
      " ",
      "'",
      "\\",
      "valueOf",
      "toString",
    );
    const source = fc.oneof(
      fc.string(),
      fc.array(pieces, { maxLength: 25 }).map((p) => p.join(" ")),
      fc.array(pieces, { maxLength: 25 }).map((p) => p.join("")),
    );
    fc.assert(
      fc.property(source, fc.jsonValue(), (text, output) => {
        let compiled: ReturnType<typeof compileExpression>;
        try {
          compiled = compileExpression(text);
        } catch (err) {
          expect(err).toBeInstanceOf(ExpressionError);
          return;
        }
        try {
          const value = compiled.evaluate(expressionScope(output, ctx));
          // Nothing from a prototype can come out: only data values.
          expect(typeof value).not.toBe("function");
          if (typeof value === "object" && value !== null && !Array.isArray(value)) {
            expect(value).not.toBe(Object.prototype);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(ExpressionError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("fuzz: evaluation never writes to Object.prototype", () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom(
          "output.__proto__",
          "output.constructor",
          "output.get('__proto__')",
          "output.get('constructor')",
          "'__proto__' in output",
          "output == output",
        ),
        (value, text) => {
          try {
            compileExpression(text).evaluate(expressionScope(value, ctx));
          } catch (err) {
            expect(err).toBeInstanceOf(ExpressionError);
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });
});

describe("templates", () => {
  const render = (source: string, output: unknown = "prev") =>
    compileTemplate(source).render(templateScope(output, ctx));

  it("placeholders, fallbacks and filters", () => {
    expect(render("Hi {{ context.user.name }}, re: {{ previous_step }}")).toBe("Hi Ada, re: prev");
    expect(render("{{ context.nope or 'guest' }}")).toBe("guest");
    expect(render("{{ context.tags | join(', ') | upper }}")).toBe("A, B");
    expect(render("{{ context.tags | length }}")).toBe("2");
    expect(render("{{ context.user | tojson }}")).toBe('{"name":"Ada","plan":"pro"}');
    expect(render("{{ context.nope | default('none') }}")).toBe("none");
    expect(render("{{ steps.draft.output }} / {{ steps.check.ok }}")).toBe("text / true");
    expect(render("{{ this }}", { id: 1 })).toBe('{"id":1}');
    expect(render("{{ resume_input }}")).toBe("yes");
    expect(render("{{ context.missing }}")).toBe("");
  });

  it("bad templates fail when compiled", () => {
    expect(() => compileTemplate("{{ context.x | shout }}")).toThrow(/Unknown template filter: shout/);
    expect(() => compileTemplate("{{ context.__proto__ }}")).toThrow(/__proto__/);
    expect(() => compileTemplate("{{ context.x")).toThrow(/unterminated/);
    expect(() => compileTemplate("{{#if context.x}}y{{/if}}")).toThrow(/not supported/);
  });
});
