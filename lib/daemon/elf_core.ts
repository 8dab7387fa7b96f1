/**
 * Who crashed, read from the start of an ELF core (coredump-socket mode, where Deno
 * cannot ask the kernel for the peer's credentials): the ELF header, the program
 * headers up to PT_NOTE, and the notes NT_PRPSINFO (pid, uid, gid, exec name,
 * arguments), NT_PRSTATUS (the crashing thread's tid, and the signal) and NT_SIGINFO
 * (signal). 64-bit little-endian cores (x86-64, arm64) and 32-bit little-endian ones
 * (i386, x32 and arm programs on those kernels, whose notes are the kernel's compat
 * layouts) are parsed. A core of another byte order, or whose NT_PRPSINFO is missing or
 * of a layout not known, still gives facts: what is known, an unknown uid and gid
 * (`0xffffffff`) and a `note` saying why. Every length is bounded; what is not an ELF
 * core, or a truncated or fake one, is a `SyntaxError` or `RangeError`, and nothing is
 * read past the notes.
 *
 * @module
 */
import { type ByteReader, readFull } from "../wire/frame.ts";
import { UNKNOWN_ID } from "./held_process.ts";
import {
  type CoreLayout,
  coreLayout,
  ELF_HEADER_SIZE,
  LAYOUT_64,
  NT_PRPSINFO,
  NT_PRSTATUS,
  NT_SIGINFO,
  PT_NOTE,
} from "./elf_layout.ts";

/** The notes must end within this many bytes of the start. */
export const MAX_NOTES_END = 16 * 1024 * 1024;

/** The facts of a crash that its core tells. */
export interface CoreFacts {
  /** `pr_pid` (in the crashed process's own pid namespace); 0 when not known. */
  pid: number;
  /** `pr_ppid`; 0 when not known. */
  ppid: number;
  /** `pr_uid`; `0xffffffff` when not known. */
  uid: number;
  /** `pr_gid`; `0xffffffff` when not known. */
  gid: number;
  /** `pr_fname`: the exec name (comm), at most 15 bytes; empty when not known. */
  execName: string;
  /** `pr_psargs`: the start of the command line (80 bytes), split on spaces. */
  args: string[];
  /** The fatal signal, from NT_SIGINFO or NT_PRSTATUS. */
  signal?: number;
  /**
   * The crashing thread's tid: `pr_pid` of the first NT_PRSTATUS note, which the kernel
   * writes for the thread that took the signal (in its own pid namespace).
   */
  tid?: number;
  /**
   * Why facts are missing: the core's byte order or NT_PRPSINFO layout is not one that
   * is parsed, or it has no NT_PRPSINFO. Absent when the core told them all.
   */
  note?: string;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

function cstr(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** Where the notes are, from the ELF header and program headers in `head`. */
function findNotesIn(
  head: Uint8Array,
  layout: CoreLayout,
): { phEnd: number; offset: number; size: number } | { phEnd: number } {
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const phoff = layout.phoff(v);
  const phentsize = v.getUint16(layout.phentsizeAt, true);
  const phnum = v.getUint16(layout.phnumAt, true);
  const PHDR_SIZE = layout.phentsize;
  if (phentsize !== PHDR_SIZE) throw new SyntaxError(`Not a core: e_phentsize ${phentsize}`);
  if (phoff < layout.ehsize || phnum === 0) {
    throw new SyntaxError("Not a core: no program headers");
  }
  // PN_XNUM (0xffff) means more: PT_NOTE comes first anyway, so look at those present.
  const phEnd = phoff + phnum * PHDR_SIZE;
  if (phEnd > MAX_NOTES_END) throw new RangeError("Core program headers are too large");
  if (head.byteLength < phEnd) return { phEnd };
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    if (v.getUint32(at, true) !== PT_NOTE) continue;
    const offset = layout.pOffset(v, at);
    const size = layout.pFilesz(v, at);
    if (offset < phEnd || offset + size > MAX_NOTES_END || size === 0) {
      throw new RangeError(`Core notes out of bounds: offset ${offset}, size ${size}`);
    }
    return { phEnd, offset, size };
  }
  throw new SyntaxError("Not a core: no PT_NOTE segment");
}

/** Facts when the core tells none but `note` (and perhaps the signal and tid). */
function unknownFacts(note: string): CoreFacts {
  return { pid: 0, ppid: 0, uid: UNKNOWN_ID, gid: UNKNOWN_ID, execName: "", args: [], note };
}

/**
 * Parse the notes segment of a 64-bit core (or, with `layout`, of another class); throws
 * a `SyntaxError` when it has no NT_PRPSINFO of the layout's size.
 */
export function parseNotes(notes: Uint8Array): CoreFacts {
  const facts = readNotes(notes, LAYOUT_64);
  if (facts.note !== undefined) throw new SyntaxError("Not a core: no NT_PRPSINFO note");
  return facts;
}

/** The facts in a notes segment; with a `note` when NT_PRPSINFO is missing or not known. */
function readNotes(notes: Uint8Array, layout: CoreLayout): CoreFacts {
  const v = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
  const ps = layout.prpsinfo;
  let at = 0;
  let facts: CoreFacts | undefined;
  let signal: number | undefined;
  let prstatusSignal: number | undefined;
  let tid: number | undefined;
  while (at + 12 <= notes.byteLength) {
    const namesz = v.getUint32(at, true);
    const descsz = v.getUint32(at + 4, true);
    const type = v.getUint32(at + 8, true);
    const desc = at + 12 + ((namesz + 3) & ~3);
    const next = desc + ((descsz + 3) & ~3);
    if (namesz > 64 || desc + descsz > notes.byteLength || next > notes.byteLength + 3) {
      throw new RangeError(`Core note at ${at} runs past the notes`);
    }
    const name = cstr(notes.subarray(at + 12, at + 12 + namesz));
    if (name === "CORE") {
      if (type === NT_PRPSINFO && typeof ps !== "string" && descsz >= ps.size) {
        facts = {
          uid: ps.uid(v, desc),
          gid: ps.gid(v, desc),
          pid: v.getInt32(desc + ps.pid, true),
          ppid: v.getInt32(desc + ps.ppid, true),
          execName: cstr(notes.subarray(desc + ps.fname, desc + ps.fname + 16)),
          args: cstr(notes.subarray(desc + ps.psargs, desc + ps.psargs + 80)).trim().split(" ")
            .filter((a) => a !== ""),
        };
      } else if (type === NT_SIGINFO && descsz >= 4) {
        signal = v.getInt32(desc, true);
      } else if (type === NT_PRSTATUS && descsz >= 4 && prstatusSignal === undefined) {
        prstatusSignal = v.getInt32(desc, true);
        if (descsz >= layout.prstatusPid + 4) {
          const pid = v.getInt32(desc + layout.prstatusPid, true);
          if (pid > 0) tid = pid;
        }
      }
    }
    at = next;
  }
  facts ??= unknownFacts(
    typeof ps === "string"
      ? ps
      : `no NT_PRPSINFO note of ${ps.size} bytes: its pid, uid, gid and name are not known`,
  );
  const sig = signal ?? prstatusSignal;
  return {
    ...facts,
    ...(sig !== undefined && sig > 0 ? { signal: sig } : {}),
    ...(tid === undefined ? {} : { tid }),
  };
}

/** A byte budget shared by the cores read at once (their buffered heads). */
export interface ByteBudget {
  /** Take `bytes`; `false`, and nothing taken, when fewer are left. */
  take(bytes: number): boolean;
  /** Give back `bytes` taken earlier. */
  give(bytes: number): void;
}

/** Options of {@linkcode readCoreFacts}. */
export interface ReadCoreFactsOptions {
  /**
   * Buffer the head only within this budget; past it, the notes are read one by one,
   * keeping only the few that tell the facts, and no head is returned. The first 64
   * bytes (the ELF header) are outside the budget: the caller gives back
   * `head.byteLength - 64` once done with the head. @default no limit
   */
  budget?: ByteBudget;
}

/** Largest note kept while streaming past the budget (PRPSINFO, PRSTATUS, SIGINFO). */
const STREAMED_NOTE_MAX = 4096;

/**
 * Read the start of a core from `reader` up to the end of its notes; resolves to the
 * facts and every byte read (to be written first if the core is kept), or no bytes when
 * they did not fit in `options.budget`. A core of another byte order is read no further
 * than its first {@linkcode ELF_HEADER_SIZE} bytes, and its facts, like those of a core
 * whose NT_PRPSINFO is missing or not known, carry a `note` and an unknown uid and gid.
 * Rejects with a `SyntaxError` what is not an ELF core, and a `RangeError` (or
 * `SyntaxError`) a truncated or malformed one.
 */
export async function readCoreFacts(
  reader: ByteReader,
  options: ReadCoreFactsOptions = {},
): Promise<{ facts: CoreFacts; head?: Uint8Array }> {
  const budget = options.budget;
  let head = new Uint8Array(0);
  let pos = 0;
  const truncated = (n: number) => {
    const magic = [0x7f, 0x45, 0x4c, 0x46];
    if (head.byteLength >= 4 && magic.some((b, i) => head[i] !== b)) {
      throw new SyntaxError("Not a core: no ELF magic");
    }
    return new RangeError(`Core truncated: ended after ${pos} of ${n} bytes`);
  };
  const need = async (n: number) => {
    if (head.byteLength >= n) return;
    const more = new Uint8Array(n - head.byteLength);
    const got = await readFull(reader, more);
    const grown = new Uint8Array(head.byteLength + got);
    grown.set(head);
    grown.set(more.subarray(0, got), head.byteLength);
    head = grown;
    pos = head.byteLength;
    if (got < more.byteLength) throw truncated(n);
  };
  // The ELF header (64 bytes) is read outside the budget: the rest of the head within it.
  let taken = 0;
  /** Whether the head may grow to `n` bytes; false once, and for good, past the budget. */
  let within = true;
  const afford = (n: number): boolean => {
    const more = n - ELF_HEADER_SIZE - taken;
    if (!within || budget === undefined || more <= 0) return within;
    within = budget.take(more);
    if (within) {
      taken += more;
    } else {
      budget.give(taken); // the head is dropped: stream the rest
      taken = 0;
    }
    return within;
  };
  /** Read `n` bytes past the head (streaming), keeping them only if `keep`. */
  const scratch = new Uint8Array(64 * 1024);
  const pass = async (n: number, keep: boolean): Promise<Uint8Array | undefined> => {
    const kept = keep ? new Uint8Array(n) : undefined;
    for (let done = 0; done < n;) {
      const buf = kept?.subarray(done) ?? scratch.subarray(0, Math.min(scratch.length, n - done));
      const got = await readFull(reader, buf);
      done += got;
      pos += got;
      if (got < buf.byteLength) throw truncated(pos + n - done);
    }
    return kept;
  };
  try {
    await need(ELF_HEADER_SIZE);
    const layout = coreLayout(head);
    // Another byte order: an ELF core all the same, recorded with what is known.
    if ("note" in layout) return { facts: unknownFacts(layout.note), head };
    let where = findNotesIn(head, layout);
    if (!("offset" in where) && afford(where.phEnd)) {
      await need(where.phEnd);
      where = findNotesIn(head, layout);
    }
    if (!("offset" in where) && within) {
      throw new SyntaxError("Not a core: no PT_NOTE segment");
    }
    if ("offset" in where && afford(where.offset + where.size)) {
      await need(where.offset + where.size);
      return {
        facts: readNotes(head.subarray(where.offset, where.offset + where.size), layout),
        head,
      };
    }
    // Past the budget: stream the rest with bounded memory, keep no head.
    const notes = "offset" in where ? where : await streamNotesPhdr(head, layout, pass);
    if (notes.offset < pos) throw new RangeError("Core notes overlap what was read");
    await pass(notes.offset - pos, false);
    return { facts: readNotes(await streamNotes(notes.size, pass), layout) };
  } catch (err) {
    budget?.give(taken);
    throw err;
  }
}

type Pass = (n: number, keep: boolean) => Promise<Uint8Array | undefined>;

/**
 * Find PT_NOTE by reading the program headers one by one. `head` is what was read so far
 * (the first {@linkcode ELF_HEADER_SIZE} bytes): a 32-bit core's program headers start
 * within it, at 52.
 */
async function streamNotesPhdr(
  head: Uint8Array,
  layout: CoreLayout,
  pass: Pass,
): Promise<{ offset: number; size: number }> {
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const PHDR_SIZE = layout.phentsize;
  const phoff = layout.phoff(v);
  const phnum = v.getUint16(layout.phnumAt, true);
  const phEnd = phoff + phnum * PHDR_SIZE;
  let pos = head.byteLength;
  /** The next `n` bytes from `phoff` on: first those already in `head`, then read. */
  let held = head.subarray(Math.min(phoff, pos));
  const next = async (n: number): Promise<Uint8Array> => {
    const out = new Uint8Array(n);
    const have = Math.min(n, held.byteLength);
    out.set(held.subarray(0, have));
    held = held.subarray(have);
    if (have < n) {
      out.set((await pass(n - have, true))!, have);
      pos += n - have;
    }
    return out;
  };
  if (phoff > pos) {
    await pass(phoff - pos, false);
    pos = phoff;
  }
  for (let i = 0; i < phnum; i++) {
    const ph = await next(PHDR_SIZE);
    const p = new DataView(ph.buffer);
    if (p.getUint32(0, true) !== PT_NOTE) continue;
    const offset = layout.pOffset(p, 0);
    const size = layout.pFilesz(p, 0);
    if (offset < phEnd || offset + size > MAX_NOTES_END || size === 0) {
      throw new RangeError(`Core notes out of bounds: offset ${offset}, size ${size}`);
    }
    await pass(phEnd - pos, false);
    return { offset, size };
  }
  throw new SyntaxError("Not a core: no PT_NOTE segment");
}

/**
 * Read a notes segment of `size` bytes one note at a time; resolves to a notes segment
 * holding only the small CORE notes (PRPSINFO, PRSTATUS, SIGINFO), for `parseNotes`.
 */
async function streamNotes(size: number, pass: Pass): Promise<Uint8Array> {
  const kept: Uint8Array[] = [];
  let at = 0;
  while (at + 12 <= size) {
    const h = (await pass(12, true))!;
    const v = new DataView(h.buffer);
    const namesz = v.getUint32(0, true);
    const descsz = v.getUint32(4, true);
    const type = v.getUint32(8, true);
    const nameLen = (namesz + 3) & ~3;
    const descLen = (descsz + 3) & ~3;
    if (namesz > 64 || at + 12 + nameLen + descsz > size) {
      throw new RangeError(`Core note at ${at} runs past the notes`);
    }
    const name = (await pass(nameLen, true))!;
    const descRead = Math.min(descLen, size - at - 12 - nameLen);
    const wanted = cstr(name.subarray(0, namesz)) === "CORE" && descRead <= STREAMED_NOTE_MAX &&
      (type === NT_PRPSINFO || type === NT_PRSTATUS || type === NT_SIGINFO);
    const desc = await pass(descRead, wanted);
    if (desc !== undefined) kept.push(h, name, desc);
    at += 12 + nameLen + descRead;
  }
  await pass(size - at, false);
  const out = new Uint8Array(kept.reduce((n, b) => n + b.byteLength, 0));
  let o = 0;
  for (const b of kept) {
    out.set(b, o);
    o += b.byteLength;
  }
  return out;
}
