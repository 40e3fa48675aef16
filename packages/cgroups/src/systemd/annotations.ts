import { invalidConfig } from '../errors.js';
import { Variant } from './dbus/variant.js';

/** Annotations with this prefix become unit properties, as with runc and crun. */
export const PROPERTY_ANNOTATION = 'org.systemd.property.';

// A value is written in GVariant's text format, as runc reads it: `uint64 1024`, `@as []`,
// `'text'`, `true`, `[ 'a.service', 'b.service' ]`, `<int32 5>`; a bare integer is an int32.
const TYPE_WORDS: Record<string, string> = {
  boolean: 'b',
  byte: 'y',
  int16: 'n',
  uint16: 'q',
  int32: 'i',
  uint32: 'u',
  int64: 'x',
  uint64: 't',
  double: 'd',
  string: 's',
  objectpath: 'o',
  signature: 'g',
};
const NUMBER_TYPES = ['y', 'n', 'q', 'i', 'u', 'x', 't', 'd'];
const INTEGER_BITS: Record<string, [bits: number, signed: boolean]> = {
  y: [8, false],
  n: [16, true],
  q: [16, false],
  i: [32, true],
  u: [32, false],
  x: [64, true],
  t: [64, false],
};

type Node =
  | { kind: 'number'; text: string; sig?: string }
  | { kind: 'string'; text: string; sig?: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'array'; items: Node[]; sig?: string }
  | { kind: 'variant'; node: Node };

type Token = { type: 'punct' | 'number' | 'string' | 'word' | 'typed'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const ch = text[at]!;
    if (/\s/.test(ch)) at++;
    else if ('[]<>,'.includes(ch)) tokens.push({ type: 'punct', text: text[at++]! });
    else if (ch === "'" || ch === '"') {
      let end = at + 1;
      while (end < text.length && text[end] !== ch) end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) throw new Error('unterminated string');
      tokens.push({ type: 'string', text: text.slice(at, end + 1) });
      at = end + 1;
    } else if (/[-+0-9]/.test(ch)) {
      const match = /^[-+]?(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]*([eE][-+]?[0-9]+)?)/.exec(text.slice(at))!;
      if (!match[0] || /[A-Za-z_]/.test(text[at + match[0].length] ?? '')) {
        throw new Error(`bad number syntax near "${text.slice(at, at + 12)}"`);
      }
      tokens.push({ type: 'number', text: match[0] });
      at += match[0].length;
    } else if (ch === '@') {
      const match = /^@\S+/.exec(text.slice(at))!;
      tokens.push({ type: 'typed', text: match[0].slice(1) });
      at += match[0].length;
    } else if (/[{}(]/.test(ch) || (ch === 'b' && /^b['"]/.test(text.slice(at)))) {
      throw new Error(`"${ch === 'b' ? "b'" : ch}" values are not supported`);
    } else {
      const match = /^[A-Za-z0-9_]+/.exec(text.slice(at));
      if (!match) throw new Error(`unexpected "${ch}"`);
      tokens.push({ type: 'word', text: match[0] });
      at += match[0].length;
    }
  }
  return tokens;
}

function parseNode(tokens: Token[], state: { at: number }, sig?: string): Node {
  const token = tokens[state.at++];
  if (!token) throw new Error('the value ends early');
  const typed = (s: string) => {
    if (sig) throw new Error('unexpected type annotation');
    return parseNode(tokens, state, s);
  };
  switch (token.type) {
    case 'typed':
      return typed(token.text);
    case 'word':
      if (token.text === 'true' || token.text === 'false') {
        if (sig && sig !== 'b') throw new Error(`${token.text} is not of type ${sig}`);
        return { kind: 'bool', value: token.text === 'true' };
      }
      if (TYPE_WORDS[token.text]) return typed(TYPE_WORDS[token.text]!);
      throw new Error(`unrecognized type "${token.text}"`);
    case 'number':
      if (sig && !NUMBER_TYPES.includes(sig)) throw new Error(`${token.text} is not of type ${sig}`);
      return { kind: 'number', text: token.text, ...(sig ? { sig } : {}) };
    case 'string':
      if (sig && !'sog'.includes(sig)) throw new Error(`${token.text} is not of type ${sig}`);
      return { kind: 'string', text: unquote(token.text), ...(sig ? { sig } : {}) };
    case 'punct': {
      if (token.text === '<') {
        if (sig && sig !== 'v') throw new Error(`a variant is not of type ${sig}`);
        const node = parseNode(tokens, state);
        if (tokens[state.at++]?.text !== '>') throw new Error('a variant is not closed with ">"');
        return { kind: 'variant', node };
      }
      if (token.text !== '[') throw new Error(`unexpected "${token.text}"`);
      if (sig && !sig.startsWith('a')) throw new Error(`an array is not of type ${sig}`);
      const items: Node[] = [];
      if (tokens[state.at]?.text === ']') state.at++;
      else {
        for (;;) {
          items.push(parseNode(tokens, state, sig?.slice(1)));
          const next = tokens[state.at++]?.text;
          if (next === ']') break;
          if (next !== ',') throw new Error('array items are separated by ","');
        }
      }
      return { kind: 'array', items, ...(sig ? { sig } : {}) };
    }
  }
}

function unquote(quoted: string): string {
  const escapes: Record<string, string> = {
    a: '\x07',
    b: '\b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t',
    '\n': '',
  };
  return quoted
    .slice(1, -1)
    .replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\s\S])/g, (_, code: string) =>
      code.length > 1 ? String.fromCodePoint(Number.parseInt(code.slice(1), 16)) : (escapes[code] ?? code),
    );
}

/** The signatures a node could take. */
function candidates(node: Node): Set<string> {
  switch (node.kind) {
    case 'number':
      return new Set(
        node.sig ? [node.sig] : /[.eE]/.test(node.text) && !node.text.startsWith('0x') ? ['d'] : NUMBER_TYPES,
      );
    case 'string':
      return new Set(node.sig ? [node.sig] : ['s', 'o', 'g']);
    case 'bool':
      return new Set(['b']);
    case 'variant':
      return new Set(['v']);
    case 'array': {
      if (node.sig) return new Set([node.sig]);
      let set: Set<string> | undefined;
      for (const item of node.items) {
        const mine = new Set([...candidates(item)].map((s) => `a${s}`));
        set = set ? new Set([...set].filter((s) => mine.has(s))) : mine;
        if (set.size === 0) throw new Error('the array mixes types');
      }
      return set ?? new Set();
    }
  }
}

/** The signature a node takes: the only one it can, else the default (int32, double, string). */
function infer(node: Node): string {
  const set = candidates(node);
  if (set.size === 1) return [...set][0]!;
  switch (node.kind) {
    case 'number':
      return /[.eE]/.test(node.text) && !node.text.startsWith('0x') ? 'd' : 'i';
    case 'string':
      return 's';
    case 'array':
      if (node.items.length === 0) throw new Error('cannot tell the type of an empty array (write @as [])');
      return `a${infer(node.items[0]!)}`;
    default:
      return [...set][0]!;
  }
}

function integer(text: string, sig: string): number | bigint {
  const negative = text.startsWith('-');
  const digits = text.replace(/^[-+]/, '');
  // As in GVariant: a leading 0 is octal, 0x hexadecimal.
  const value = digits.startsWith('0x')
    ? BigInt(digits)
    : digits.length > 1 && digits.startsWith('0')
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits);
  const signed = negative ? -value : value;
  const [bits, isSigned] = INTEGER_BITS[sig]!;
  const min = isSigned ? -(2n ** BigInt(bits - 1)) : 0n;
  const max = isSigned ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  if (signed < min || signed > max) throw new Error(`${text} is out of range for type ${sig}`);
  return bits === 64 ? signed : Number(signed);
}

function nodeValue(node: Node, sig: string): unknown {
  switch (node.kind) {
    case 'number':
      if (sig === 'd') return Number(node.text);
      if (!/^[-+]?(0x[0-9a-fA-F]+|[0-9]+)$/.test(node.text))
        throw new Error(`${node.text} is not an integer`);
      return integer(node.text, sig);
    case 'string':
      return node.text;
    case 'bool':
      return node.value;
    case 'variant':
      return new Variant(infer(node.node), nodeValue(node.node, infer(node.node)));
    case 'array':
      return node.items.map((item) => nodeValue(item, sig.slice(1)));
  }
}

/** Parses GVariant text into a typed value, as runc parses an `org.systemd.property.` annotation. */
export function parseVariantText(text: string): Variant {
  const tokens = tokenize(text);
  const state = { at: 0 };
  const node = parseNode(tokens, state);
  if (state.at !== tokens.length) throw new Error(`unexpected "${tokens[state.at]!.text}" after the value`);
  const sig = infer(node);
  return new Variant(sig, nodeValue(node, sig));
}

/** Properties documented with a Sec suffix (TimeoutStopSec) are USec on the bus: convert. */
function secondsToMicroseconds(value: Variant): Variant {
  if (!NUMBER_TYPES.includes(value.signature)) throw new Error('not a number');
  const seconds = value.value as number | bigint;
  if (seconds < 0) throw new Error('a negative number of seconds');
  const usec = typeof seconds === 'bigint' ? seconds * 1_000_000n : BigInt(Math.floor(seconds * 1_000_000));
  return new Variant('t', usec);
}

/** The unit properties a config's `org.systemd.property.NAME` annotations ask for, checked as runc checks them. */
export function annotationProperties(
  annotations: Readonly<Record<string, string>> | undefined,
): Array<{ name: string; value: Variant; field: string }> {
  const properties: Array<{ name: string; value: Variant; field: string }> = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(PROPERTY_ANNOTATION)) continue;
    const field = `annotations[${JSON.stringify(key)}]`;
    let name = key.slice(PROPERTY_ANNOTATION.length);
    if (!/^[A-Za-z]{3,}$/.test(name)) {
      throw invalidConfig(field, `"${name}" is not a systemd property name (three or more latin letters)`);
    }
    let value: Variant;
    try {
      value = parseVariantText(text);
      if (/[a-z]Sec$/.test(name)) {
        name = `${name.slice(0, -3)}USec`;
        value = secondsToMicroseconds(value);
      }
    } catch (error) {
      throw invalidConfig(
        field,
        `cannot parse ${JSON.stringify(text)} as a D-Bus value: ${(error as Error).message}`,
      );
    }
    properties.push({ name, value, field });
  }
  return properties;
}
