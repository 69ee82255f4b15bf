/**
 * Attribute dictionary in the FreeRADIUS v3 text format (ATTRIBUTE, VALUE, VENDOR,
 * BEGIN-/END-VENDOR, BEGIN-/END-TLV, $INCLUDE). Loading reads files; lookups are pure.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const DATA_TYPES = [
  'string',
  'octets',
  'ipaddr',
  'ipv6addr',
  'ipv6prefix',
  'ipv4prefix',
  'integer',
  'byte',
  'short',
  'signed',
  'integer64',
  'date',
  'ifid',
  'ether',
  'abinary',
  'combo-ip',
  'tlv',
  'vsa',
  'evs',
  'extended',
  'long-extended',
] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** Aliases used by RFC 8044 and by other dictionaries for the same wire types. */
const TYPE_ALIASES: Record<string, DataType> = {
  text: 'string',
  uint8: 'byte',
  uint16: 'short',
  uint32: 'integer',
  uint64: 'integer64',
  int32: 'signed',
  time: 'date',
  ipv4addr: 'ipaddr',
  'combo-ipaddr': 'combo-ip',
  enum: 'integer',
};

export interface VendorDef {
  name: string;
  id: number;
  /** Octets of the vendor attribute type and length fields (RFC 2865 §5.26 "should" is 1,1). */
  typeLength: 1 | 2 | 4;
  lengthLength: 0 | 1 | 2;
}

/** An attribute's place: the IETF space (vendor 0) or a vendor, and its number path. */
export interface AttributeDef {
  name: string;
  vendorId: number;
  /** [type], or [241, 1] for an extended type, or deeper for TLV members. */
  path: readonly number[];
  type: DataType;
  hasTag: boolean;
  /** 1 = User-Password style (RFC 2865 §5.2); 2 = salted (RFC 2868 §3.5); 3 = Ascend. */
  encrypt: 0 | 1 | 2 | 3;
  concat: boolean;
  array: boolean;
  values: Map<string, number>;
  valueNames: Map<number, string>;
}

export class DictionaryError extends Error {
  readonly code = 'AAA_ERR_DICTIONARY';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

function attributeKey(vendorId: number, path: readonly number[]): string {
  return vendorId === 0 ? path.join('.') : `${vendorId}:${path.join('.')}`;
}

function parseNumber(text: string): number {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text, 16);
  if (/^\d+$/.test(text)) return Number(text);
  return NaN;
}

interface ParseState {
  vendorStack: VendorDef[];
  /** Line of each open BEGIN-VENDOR, so that a missing END-VENDOR names it. */
  vendorLines: number[];
  tlvStack: AttributeDef[];
}

export class Dictionary {
  private readonly byName = new Map<string, AttributeDef>();
  private readonly byKey = new Map<string, AttributeDef>();
  private readonly vendorsByName = new Map<string, VendorDef>();
  private readonly vendorsById = new Map<number, VendorDef>();
  /** Files already read, so that nested $INCLUDEs of the same file are harmless. */
  private readonly loadedFiles = new Set<string>();
  /**
   * VALUE lines naming an attribute not defined yet. FreeRADIUS v3 resolves these once the
   * whole tree is read (its dictionary.compat gives values before the RFC files define them).
   */
  private pendingValues: { f: string[]; file: string; line: number }[] = [];
  private loadDepth = 0;

  get attributeCount(): number {
    return this.byKey.size;
  }

  byAttributeName(name: string): AttributeDef | undefined {
    return this.byName.get(name.toLowerCase());
  }

  byNumber(vendorId: number, path: readonly number[]): AttributeDef | undefined {
    return this.byKey.get(attributeKey(vendorId, path));
  }

  standard(type: number): AttributeDef | undefined {
    return this.byKey.get(String(type));
  }

  vendorById(id: number): VendorDef | undefined {
    return this.vendorsById.get(id);
  }

  vendorByName(name: string): VendorDef | undefined {
    return this.vendorsByName.get(name.toLowerCase());
  }

  /** Loads a dictionary file, or every regular file of a directory in name order. */
  load(path: string): void {
    this.outermost(() => this.loadPath(path));
  }

  loadText(text: string, file: string): void {
    this.outermost(() => this.parseText(text, file));
  }

  /** Runs a load; the outermost one then resolves VALUEs that came before their ATTRIBUTE. */
  private outermost(run: () => void): void {
    this.loadDepth++;
    try {
      run();
    } catch (err) {
      this.pendingValues = [];
      throw err;
    } finally {
      this.loadDepth--;
    }
    if (this.loadDepth > 0) return;
    const pending = this.pendingValues;
    this.pendingValues = [];
    for (const p of pending) {
      const def = this.byName.get(p.f[1]!.toLowerCase());
      if (!def) throw new DictionaryError(p.file, p.line, `VALUE for unknown attribute ${p.f[1]}`);
      this.addValue(def, p.f, (r) => {
        throw new DictionaryError(p.file, p.line, r);
      });
    }
  }

  private loadPath(path: string): void {
    const full = resolve(path);
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full).sort()) {
        const child = join(full, name);
        if (statSync(child).isFile() && !name.startsWith('.')) this.loadPath(child);
      }
      return;
    }
    if (this.loadedFiles.has(full)) return;
    this.loadedFiles.add(full);
    this.parseText(readFileSync(full, 'utf8'), full);
  }

  private parseText(text: string, file: string): void {
    const state: ParseState = { vendorStack: [], vendorLines: [], tlvStack: [] };
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const hash = lines[i]!.indexOf('#');
      const content = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
      if (content === '') continue;
      this.parseLine(content.split(/\s+/), state, file, i + 1);
    }
    if (state.vendorStack.length > 0) {
      throw new DictionaryError(file, state.vendorLines.at(-1)!, `BEGIN-VENDOR ${state.vendorStack.at(-1)!.name} has no END-VENDOR`);
    }
  }

  private parseLine(f: string[], state: ParseState, file: string, line: number): void {
    const fail = (reason: string): never => {
      throw new DictionaryError(file, line, reason);
    };
    switch (f[0]) {
      case '$INCLUDE':
      case '$INCLUDE-': {
        if (f.length < 2) fail('$INCLUDE needs a file name');
        const target = resolve(dirname(file), f[1]!);
        try {
          this.loadPath(target);
        } catch (err) {
          if (err instanceof DictionaryError) throw err;
          // "$INCLUDE-" marks an optional file.
          if (f[0] === '$INCLUDE-') return;
          fail(`cannot read included file ${target}: ${(err as Error).message}`);
        }
        return;
      }
      case 'VENDOR':
        return this.defineVendor(f, fail);
      case 'BEGIN-VENDOR': {
        const v = this.vendorsByName.get((f[1] ?? '').toLowerCase()) ?? fail(`unknown vendor ${f[1]}`);
        state.vendorLines.push(line);
        // "format=Extended-Vendor-Specific-N" (RFC 6929 §2.4 EVS) is carried as opaque data.
        if (f[2]?.startsWith('format=')) {
          state.vendorStack.push({ ...v, id: -1 });
          return;
        }
        state.vendorStack.push(v);
        return;
      }
      case 'END-VENDOR':
        if (state.vendorStack.pop() === undefined) fail('END-VENDOR without BEGIN-VENDOR');
        state.vendorLines.pop();
        return;
      case 'BEGIN-TLV': {
        const parent = this.byName.get((f[1] ?? '').toLowerCase()) ?? fail(`unknown TLV parent ${f[1]}`);
        state.tlvStack.push(parent);
        return;
      }
      case 'END-TLV':
        if (state.tlvStack.pop() === undefined) fail('END-TLV without BEGIN-TLV');
        return;
      case 'ATTRIBUTE':
        return this.defineAttribute(f, state, fail);
      case 'VALUE':
        return this.defineValue(f, file, line, fail);
      case 'FLAGS':
      case 'PROTOCOL':
        return;
      default:
        fail(`unknown keyword ${f[0]}`);
    }
  }

  private defineVendor(f: string[], fail: (r: string) => never): void {
    if (f.length < 3) fail('VENDOR needs a name and a number');
    const id = parseNumber(f[2]!);
    if (!Number.isInteger(id) || id < 0 || id > 0xffffff) fail(`bad vendor number ${f[2]}`);
    let typeLength: VendorDef['typeLength'] = 1;
    let lengthLength: VendorDef['lengthLength'] = 1;
    const format = f[3];
    if (format !== undefined) {
      const m = /^format=(\d),(\d)(?:,c)?$/.exec(format);
      if (!m) fail(`bad vendor format ${format}`);
      const t = Number(m![1]);
      const l = Number(m![2]);
      if (t !== 1 && t !== 2 && t !== 4) fail(`vendor type field must be 1, 2 or 4 octets, not ${t}`);
      if (l !== 0 && l !== 1 && l !== 2) fail(`vendor length field must be 0, 1 or 2 octets, not ${l}`);
      typeLength = t as VendorDef['typeLength'];
      lengthLength = l as VendorDef['lengthLength'];
    }
    const vendor: VendorDef = { name: f[1]!, id, typeLength, lengthLength };
    this.vendorsByName.set(vendor.name.toLowerCase(), vendor);
    this.vendorsById.set(id, vendor);
  }

  private defineAttribute(f: string[], state: ParseState, fail: (r: string) => never): void {
    if (f.length < 4) fail('ATTRIBUTE needs a name, a number and a type');
    const [, name, number, rawType, flagText] = f as [string, string, string, string, string?];
    const typeName = rawType.replace(/\[\d+\]$/, '').toLowerCase();
    const type = (DATA_TYPES as readonly string[]).includes(typeName)
      ? (typeName as DataType)
      : TYPE_ALIASES[typeName] ?? fail(`unknown data type ${rawType} for ${name}`);
    const vendor = state.vendorStack.at(-1);
    const tlvParent = state.tlvStack.at(-1);
    const own = number.split('.').map(parseNumber);
    if (own.some((n) => !Number.isInteger(n) || n < 0)) fail(`bad attribute number ${number}`);
    const path = tlvParent && own.length === 1 ? [...tlvParent.path, own[0]!] : own;
    const def: AttributeDef = {
      name,
      vendorId: vendor ? vendor.id : 0,
      path,
      type,
      hasTag: false,
      encrypt: 0,
      concat: false,
      array: false,
      values: new Map(),
      valueNames: new Map(),
    };
    for (const flag of (flagText ?? '').split(',').filter(Boolean)) {
      if (flag === 'has_tag') def.hasTag = true;
      else if (flag === 'concat') def.concat = true;
      else if (flag === 'array') def.array = true;
      else if (/^encrypt=[0-3]$/.test(flag)) def.encrypt = Number(flag.slice(8)) as AttributeDef['encrypt'];
      // Other FreeRADIUS flags (virtual, secret, abinary, internal) do not change the wire format.
    }
    this.byName.set(name.toLowerCase(), def);
    this.byKey.set(attributeKey(def.vendorId, path), def);
  }

  private defineValue(f: string[], file: string, line: number, fail: (r: string) => never): void {
    if (f.length < 4) fail('VALUE needs an attribute, a name and a number');
    const def = this.byName.get(f[1]!.toLowerCase());
    if (!def) {
      this.pendingValues.push({ f, file, line });
      return;
    }
    this.addValue(def, f, fail);
  }

  private addValue(def: AttributeDef, f: string[], fail: (r: string) => never): void {
    const n = parseNumber(f[3]!);
    if (!Number.isFinite(n)) fail(`bad value number ${f[3]}`);
    def.values.set(f[2]!.toLowerCase(), n);
    if (!def.valueNames.has(n)) def.valueNames.set(n, f[2]!);
  }
}
