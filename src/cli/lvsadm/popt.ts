// A small re-implementation of the parts of libpopt that ipvsadm's grammar depends on.
//
// Why not yargs (the project's CLI library): ipvsadm 1.31 is built on popt, and its observable behaviour
// follows popt's rules, which yargs cannot express: the *first* option must be a command letter
// (`-nL` is rejected while `-Ln` works), `-p` takes an optional value only when the next word does not
// start with '-', a required value is taken even when it looks like an option (`-w -1`), short options
// cluster with an attached value (`-Lnt 1.2.3.4:80`, `-p52`, `-t=1.2.3.4`), non-option words are
// collected as leftovers wherever they appear (`--set 1 2 3`), errors name the whole word (`-Lnq:
// unknown option`), and option order has meaning (`-M` before or after an IPv6 `-t`). The help text must
// also be byte-identical to ipvsadm's, so yargs' generated help is of no use, and loading yargs would
// add start-up time to every call. Everything here is verified against the real ipvsadm in the VM.

export type ArgKind = 'none' | 'required' | 'optional';

export interface PoptOption<Tag extends string = string> {
  long: string;
  short?: string | undefined;
  arg: ArgKind;
  tag: Tag;
}

export type PoptItem<Tag extends string = string> =
  | { type: 'option'; tag: Tag; arg?: string | undefined; word: string }
  | { type: 'error'; error: PoptErrorKind; word: string };

export type PoptErrorKind = 'unknown option' | 'missing argument' | 'option does not take an argument';

/** Walks argv (without argv[0]) the way poptGetNextOpt() does; leftovers are what poptGetArg() returns. */
const lookups = new WeakMap<readonly PoptOption[], { long: Map<string, PoptOption>; short: Map<string, PoptOption> }>();

function lookupOf<Tag extends string>(table: readonly PoptOption<Tag>[]): { long: Map<string, PoptOption<Tag>>; short: Map<string, PoptOption<Tag>> } {
  let l = lookups.get(table);
  if (!l) {
    l = { long: new Map(), short: new Map() };
    for (const o of table) {
      if (!l.long.has(o.long)) l.long.set(o.long, o);
      if (o.short && !l.short.has(o.short)) l.short.set(o.short, o);
    }
    lookups.set(table, l);
  }
  return l as { long: Map<string, PoptOption<Tag>>; short: Map<string, PoptOption<Tag>> };
}

export class Popt<Tag extends string = string> {
  private index = 0;
  /** Inside a cluster of short options: the word and the position of the next letter. */
  private cluster: { word: string; pos: number } | undefined;
  private onlyArgs = false;
  readonly leftovers: string[] = [];

  constructor(
    private readonly argv: readonly string[],
    private readonly table: readonly PoptOption<Tag>[],
  ) {}

  /** The next option, an error, or undefined when argv is exhausted. */
  next(): PoptItem<Tag> | undefined {
    if (this.cluster) return this.shortOption(this.cluster.word, this.cluster.pos);
    while (this.index < this.argv.length) {
      const word = this.argv[this.index++]!;
      if (this.onlyArgs || word[0] !== '-' || word === '-') {
        this.leftovers.push(word);
        continue;
      }
      if (word === '--') {
        this.onlyArgs = true;
        continue;
      }
      if (word.startsWith('--')) return this.longOption(word);
      return this.shortOption(word, 1);
    }
    return undefined;
  }

  private longOption(word: string): PoptItem<Tag> {
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    const opt = lookupOf(this.table).long.get(name);
    if (!opt) return { type: 'error', error: 'unknown option', word };
    if (opt.arg === 'none') {
      if (inline !== undefined) return { type: 'error', error: 'option does not take an argument', word };
      return { type: 'option', tag: opt.tag, word };
    }
    if (inline !== undefined) return { type: 'option', tag: opt.tag, arg: inline, word };
    return this.valueFromNextWord(opt, word);
  }

  private shortOption(word: string, pos: number): PoptItem<Tag> {
    this.cluster = undefined;
    const letter = word[pos]!;
    const opt = lookupOf(this.table).short.get(letter);
    if (!opt) return { type: 'error', error: 'unknown option', word };
    const rest = word.slice(pos + 1);
    if (opt.arg === 'none') {
      if (rest !== '') this.cluster = { word, pos: pos + 1 };
      return { type: 'option', tag: opt.tag, word };
    }
    // popt skips one '=' between a short option and its attached value ("-t=1.2.3.4", "-p=50").
    if (rest !== '') return { type: 'option', tag: opt.tag, arg: rest.startsWith('=') ? rest.slice(1) : rest, word };
    return this.valueFromNextWord(opt, word);
  }

  private valueFromNextWord(opt: PoptOption<Tag>, word: string): PoptItem<Tag> {
    const nextWord = this.onlyArgs ? undefined : this.argv[this.index];
    if (opt.arg === 'optional') {
      // An optional value is only taken from a next word that does not start with '-' ("-p -5" is two options).
      if (nextWord !== undefined && nextWord[0] !== '-') {
        this.index++;
        return { type: 'option', tag: opt.tag, arg: nextWord, word };
      }
      return { type: 'option', tag: opt.tag, word };
    }
    if (nextWord === undefined) return { type: 'error', error: 'missing argument', word };
    this.index++;
    return { type: 'option', tag: opt.tag, arg: nextWord, word };
  }

  /** poptGetArg(): the next leftover word, in order. */
  takeLeftover(): string | undefined {
    return this.leftovers.shift();
  }
}
