/**
 * The keys of the objects a JSON validator is inside of (innermost last), to find a key given
 * twice in one object. Keys are not made into strings: each is a span of the text, with its hash;
 * only a key with escapes is kept decoded. Small objects are searched key by key; larger ones
 * through an open-addressing table of their own, so that a 100,000-key object costs tens of
 * milliseconds, not the hundreds a Map of strings takes. Keys made to collide (the hash is not
 * secret) would make the table's probing quadratic: an object whose keys do falls back to a Map.
 */
export class ObjectKeyStack {
  // Typed arrays grown by doubling, not JS arrays: V8 grows a JS array past ~16k elements in the
  // large-object space, which its optimized code cannot do in line ("failed to grow elements
  // store"): every such growth threw the parser out of optimized code, and a 120,000-key object
  // took 65 ms to check instead of a few.
  private hashes = new Int32Array(INITIAL_CAPACITY);
  private keyStarts = new Int32Array(INITIAL_CAPACITY);
  private keyEnds = new Int32Array(INITIAL_CAPACITY);
  private valueStarts = new Int32Array(INITIAL_CAPACITY);
  private valueEnds = new Int32Array(INITIAL_CAPACITY);
  /** The decoded key of the members whose key had escapes (rare), by index. */
  private readonly decoded = new Map<number, string>();
  /** Keys held: entries past it are stale (arrays are never shrunk, which is costly). */
  private count = 0;
  /** Per open object: index of its first key, and its table once it has many keys. */
  private readonly bases: number[] = [];
  private readonly tables: Array<Int32Array | undefined> = [];
  private readonly maps: Array<Map<string, number> | undefined> = [];
  private depth = 0;

  constructor(private readonly text: string) {}

  open(): void {
    this.bases[this.depth] = this.count;
    this.tables[this.depth] = undefined;
    this.maps[this.depth] = undefined;
    this.depth++;
  }

  close(): void {
    this.depth--;
    this.count = this.bases[this.depth];
    this.tables[this.depth] = undefined;
    this.maps[this.depth] = undefined;
  }

  /**
   * Adds a member to the innermost object and returns -1, or, when it already has the key,
   * returns the index of that member (see valueStart, valueEnd, setValue) and adds nothing.
   */
  add(key: KeySpan, valueStart: number, valueEnd: number): number {
    const found = this.find(key);
    if (found >= 0) return found;
    const index = this.count++;
    if (index === this.hashes.length) this.grow();
    this.hashes[index] = key.hash;
    this.keyStarts[index] = key.start;
    this.keyEnds[index] = key.end;
    if (key.decoded === undefined) this.decoded.delete(index);
    else this.decoded.set(index, key.decoded);
    this.valueStarts[index] = valueStart;
    this.valueEnds[index] = valueEnd;
    return -1;
  }

  private grow(): void {
    const capacity = this.hashes.length * 2;
    const grown = (from: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const to = new Int32Array(capacity);
      to.set(from);
      return to;
    };
    this.hashes = grown(this.hashes);
    this.keyStarts = grown(this.keyStarts);
    this.keyEnds = grown(this.keyEnds);
    this.valueStarts = grown(this.valueStarts);
    this.valueEnds = grown(this.valueEnds);
  }

  valueStart(index: number): number {
    return this.valueStarts[index];
  }

  valueEnd(index: number): number {
    return this.valueEnds[index];
  }

  setValue(index: number, start: number, end: number): void {
    this.valueStarts[index] = start;
    this.valueEnds[index] = end;
  }

  private find(key: KeySpan): number {
    const base = this.bases[this.depth - 1];
    if (this.count - base <= LINEAR_SEARCH_LIMIT) {
      for (let k = base; k < this.count; k++) {
        if (this.hashes[k] === key.hash && this.equals(k, key)) return k;
      }
      return -1;
    }
    const map = this.maps[this.depth - 1];
    if (map) return this.findInMap(map, key);
    let table = this.tables[this.depth - 1];
    if (!table || table.length < 2 * (this.count - base + 1)) table = this.buildTable(base);
    if (!table) return this.findInMap(this.toMap(base), key);
    const mask = table.length - 1;
    let slot = key.hash & mask;
    for (let entry = table[slot], probes = 0; entry !== 0; entry = table[slot]) {
      if (this.hashes[entry - 1] === key.hash && this.equals(entry - 1, key)) return entry - 1;
      if (++probes > MAX_PROBES) return this.findInMap(this.toMap(base), key);
      slot = (slot + 1) & mask;
    }
    table[slot] = this.count + 1; // the index add() is about to fill
    return -1;
  }

  /** A table for the innermost object's keys, at most a quarter full; none if keys collide. */
  private buildTable(base: number): Int32Array | undefined {
    let size = 64;
    while (size < 4 * (this.count - base + 1)) size *= 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let k = base; k < this.count; k++) {
      let slot = this.hashes[k] & mask;
      for (let probes = 0; table[slot] !== 0; probes++) {
        if (probes > MAX_PROBES) return undefined;
        slot = (slot + 1) & mask;
      }
      table[slot] = k + 1;
    }
    this.tables[this.depth - 1] = table;
    return table;
  }

  private toMap(base: number): Map<string, number> {
    const map = new Map<string, number>();
    for (let k = base; k < this.count; k++) map.set(this.keyText(k), k);
    this.maps[this.depth - 1] = map;
    this.tables[this.depth - 1] = undefined;
    return map;
  }

  private findInMap(map: Map<string, number>, key: KeySpan): number {
    const text = key.decoded ?? this.text.slice(key.start, key.end);
    const found = map.get(text);
    if (found !== undefined) return found;
    map.set(text, this.count); // the index add() is about to fill
    return -1;
  }

  private equals(index: number, key: KeySpan): boolean {
    const decoded = this.decoded.get(index);
    if (decoded === undefined && key.decoded === undefined) {
      const start = this.keyStarts[index];
      const length = this.keyEnds[index] - start;
      if (length !== key.end - key.start) return false;
      for (let k = 0; k < length; k++) {
        if (this.text.charCodeAt(start + k) !== this.text.charCodeAt(key.start + k)) return false;
      }
      return true;
    }
    return this.keyText(index) === (key.decoded ?? this.text.slice(key.start, key.end));
  }

  keyText(index: number): string {
    return this.decoded.get(index) ?? this.text.slice(this.keyStarts[index], this.keyEnds[index]);
  }
}

/** A key as read from the text: its content's span, hash, and decoded form if it had escapes. */
export interface KeySpan {
  start: number;
  end: number;
  hash: number;
  decoded: string | undefined;
}

const LINEAR_SEARCH_LIMIT = 16;
/**
 * Members held before the arrays first grow (they double after). Small: every request body gets
 * a stack, and most hold a few keys; five arrays of 256 took half of parsing a 60-byte task.
 */
const INITIAL_CAPACITY = 16;
/** Slots looked at for one key before the table is given up for a Map (1 to 2 on average). */
const MAX_PROBES = 32;

/** FNV-1a over UTF-16 code units, cut to 30 bits (a small integer for V8). */
export function hashKey(text: string, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash & 0x3fffffff;
}
