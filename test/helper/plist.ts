/**
 * A minimal XML property-list reader for tests (plutil is not on Linux): dict, array, string,
 * integer, real, true, false, data and date; anything else, or a malformed file, throws.
 */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : ENTITIES[e]!,
  );
}

type Token = { kind: 'open' | 'close' | 'empty'; name: string } | { kind: 'text'; text: string };

function tokenize(xml: string): Token[] {
  const body = xml
    .replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!DOCTYPE[^>]*>/, '');
  const tokens: Token[] = [];
  const re = /<(\/?)([A-Za-z]+)(\s[^>]*?)?(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(body)) !== null) {
    if (m.index !== pos) throw new Error(`plist: unexpected "${body.slice(pos, pos + 20)}"`);
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      tokens.push({ kind: 'text', text: m[5] });
    } else if (m[1] === '/') tokens.push({ kind: 'close', name: m[2]! });
    else tokens.push({ kind: m[4] === '/' ? 'empty' : 'open', name: m[2]! });
  }
  if (pos !== body.length) throw new Error(`plist: unexpected "${body.slice(pos, pos + 20)}"`);
  return tokens.filter((t) => t.kind !== 'text' || t.text.trim() !== '');
}

export function parsePlist(xml: string): PlistValue {
  const all = tokenize(xml);
  let i = 0;
  const next = (): Token => {
    const t = all[i++];
    if (t === undefined) throw new Error('plist: unexpected end of file');
    return t;
  };
  const expectClose = (name: string): void => {
    const t = next();
    if (t.kind !== 'close' || t.name !== name) throw new Error(`plist: expected </${name}>`);
  };
  const textUntilClose = (name: string): string => {
    const t = all[i];
    if (t !== undefined && t.kind === 'close' && t.name === name) {
      i++;
      return '';
    }
    const x = next();
    if (x.kind !== 'text') throw new Error(`plist: expected text in <${name}>`);
    expectClose(name);
    return decode(x.text);
  };
  const value = (): PlistValue => {
    const t = next();
    if (t.kind === 'empty') {
      if (t.name === 'true') return true;
      if (t.name === 'false') return false;
      if (t.name === 'string') return '';
      if (t.name === 'array') return [];
      if (t.name === 'dict') return {};
      throw new Error(`plist: unexpected <${t.name}/>`);
    }
    if (t.kind !== 'open') throw new Error('plist: expected a value');
    switch (t.name) {
      case 'string':
      case 'date':
      case 'data':
        return textUntilClose(t.name);
      case 'integer': {
        const s = textUntilClose('integer').trim();
        if (!/^[-+]?\d+$/.test(s)) throw new Error(`plist: bad integer ${s}`);
        return Number(s);
      }
      case 'real':
        return Number(textUntilClose('real'));
      case 'array': {
        const out: PlistValue[] = [];
        while (!(all[i]?.kind === 'close' && (all[i] as { name: string }).name === 'array')) out.push(value());
        i++;
        return out;
      }
      case 'dict': {
        const out: Record<string, PlistValue> = {};
        while (!(all[i]?.kind === 'close' && (all[i] as { name: string }).name === 'dict')) {
          const k = next();
          if (k.kind !== 'open' || k.name !== 'key') throw new Error('plist: expected <key> in <dict>');
          const key = textUntilClose('key');
          if (key in out) throw new Error(`plist: duplicate key ${key}`);
          out[key] = value();
        }
        i++;
        return out;
      }
      default:
        throw new Error(`plist: unknown element <${t.name}>`);
    }
  };
  const root = next();
  if (root.kind !== 'open' || root.name !== 'plist') throw new Error('plist: the root element must be <plist>');
  const v = value();
  expectClose('plist');
  if (i !== all.length) throw new Error('plist: content after </plist>');
  return v;
}
