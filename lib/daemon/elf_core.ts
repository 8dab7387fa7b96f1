/**
 * Who crashed, read from the start of an ELF core (coredump-socket mode, where Deno
 * cannot ask the kernel for the peer's credentials): the ELF header, the program
 * headers up to PT_NOTE, and the notes NT_PRPSINFO (pid, uid, gid, exec name,
 * arguments), NT_PRSTATUS (the crashing thread's tid, and the signal) and NT_SIGINFO
 * (signal). Only 64-bit little-endian cores
 * (x86-64, arm64) are accepted. Every length is bounded; a truncated or fake core is a
 * `SyntaxError` or `RangeError`, and nothing is read past the notes.
 *
 * @module
 */
import { type ByteReader, readFull } from "../wire/frame.ts";

const ELF_HEADER_SIZE = 64;
const PHDR_SIZE = 56;
const ET_CORE = 4;
const PT_NOTE = 4;
const NT_PRSTATUS = 1;
const NT_PRPSINFO = 3;
const NT_SIGINFO = 0x53494749;
/**
 * Offset of `pr_pid` in `struct elf_prstatus`, the same on x86-64 and arm64:
 * ```c
 * struct elf_prstatus {
 *   struct elf_siginfo pr_info;  // 0: int si_signo, si_code, si_errno
 *   short pr_cursig;             // 12, then 2 bytes of padding
 *   unsigned long pr_sigpend;    // 16
 *   unsigned long pr_sighold;    // 24
 *   pid_t pr_pid;                // 32: the thread's tid
 *   pid_t pr_ppid, pr_pgrp, pr_sid;
 *   ...
 * };
 * ```
 */
const PRSTATUS_PID_OFFSET = 32;
/** The notes must end within this many bytes of the start. */
export const MAX_NOTES_END = 16 * 1024 * 1024;

/** The facts of a crash that its core tells. */
export interface CoreFacts {
  /** `pr_pid` (in the crashed process's own pid namespace). */
  pid: number;
  /** `pr_ppid`. */
  ppid: number;
  /** `pr_uid`. */
  uid: number;
  /** `pr_gid`. */
  gid: number;
  /** `pr_fname`: the exec name (comm), at most 15 bytes. */
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
}

const decoder = new TextDecoder("utf-8", { fatal: false });

function cstr(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** Where the notes are, from the ELF header and program headers in `head`. */
export function findNotes(
  head: Uint8Array,
): { phEnd: number; offset: number; size: number } | { phEnd: number } {
  if (head.byteLength < ELF_HEADER_SIZE) {
    throw new RangeError(
      `Cannot read core: ${head.byteLength} bytes is shorter than an ELF header`,
    );
  }
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint32(0, false) !== 0x7f454c46) throw new SyntaxError("Not a core: no ELF magic");
  if (head[4] !== 2 || head[5] !== 1) {
    throw new SyntaxError("Not a supported core: only 64-bit little-endian ELF");
  }
  if (v.getUint16(16, true) !== ET_CORE) throw new SyntaxError("Not a core: e_type is not ET_CORE");
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  if (phentsize !== PHDR_SIZE) throw new SyntaxError(`Not a core: e_phentsize ${phentsize}`);
  if (phoff < ELF_HEADER_SIZE || phnum === 0) {
    throw new SyntaxError("Not a core: no program headers");
  }
  // PN_XNUM (0xffff) means more: PT_NOTE comes first anyway, so look at those present.
  const phEnd = phoff + phnum * PHDR_SIZE;
  if (phEnd > MAX_NOTES_END) throw new RangeError("Core program headers are too large");
  if (head.byteLength < phEnd) return { phEnd };
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    if (v.getUint32(at, true) !== PT_NOTE) continue;
    const offset = Number(v.getBigUint64(at + 8, true));
    const size = Number(v.getBigUint64(at + 32, true));
    if (offset < phEnd || offset + size > MAX_NOTES_END || size === 0) {
      throw new RangeError(`Core notes out of bounds: offset ${offset}, size ${size}`);
    }
    return { phEnd, offset, size };
  }
  throw new SyntaxError("Not a core: no PT_NOTE segment");
}

/** Parse the notes segment. */
export function parseNotes(notes: Uint8Array): CoreFacts {
  const v = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
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
      if (type === NT_PRPSINFO && descsz >= 136) {
        facts = {
          uid: v.getUint32(desc + 16, true),
          gid: v.getUint32(desc + 20, true),
          pid: v.getInt32(desc + 24, true),
          ppid: v.getInt32(desc + 28, true),
          execName: cstr(notes.subarray(desc + 40, desc + 56)),
          args: cstr(notes.subarray(desc + 56, desc + 136)).trim().split(" ").filter((a) =>
            a !== ""
          ),
        };
      } else if (type === NT_SIGINFO && descsz >= 4) {
        signal = v.getInt32(desc, true);
      } else if (type === NT_PRSTATUS && descsz >= 4 && prstatusSignal === undefined) {
        prstatusSignal = v.getInt32(desc, true);
        if (descsz >= PRSTATUS_PID_OFFSET + 4) {
          const pid = v.getInt32(desc + PRSTATUS_PID_OFFSET, true);
          if (pid > 0) tid = pid;
        }
      }
    }
    at = next;
  }
  if (facts === undefined) throw new SyntaxError("Not a core: no NT_PRPSINFO note");
  const sig = signal ?? prstatusSignal;
  return {
    ...facts,
    ...(sig !== undefined && sig > 0 ? { signal: sig } : {}),
    ...(tid === undefined ? {} : { tid }),
  };
}

/**
 * Read the start of a core from `reader` up to the end of its notes; resolves to the
 * facts and every byte read (to be written first if the core is kept).
 */
export async function readCoreFacts(
  reader: ByteReader,
): Promise<{ facts: CoreFacts; head: Uint8Array }> {
  let head = new Uint8Array(0);
  const need = async (n: number) => {
    if (head.byteLength >= n) return;
    const more = new Uint8Array(n - head.byteLength);
    const got = await readFull(reader, more);
    const grown = new Uint8Array(head.byteLength + got);
    grown.set(head);
    grown.set(more.subarray(0, got), head.byteLength);
    head = grown;
    if (got < more.byteLength) {
      const magic = [0x7f, 0x45, 0x4c, 0x46];
      if (head.byteLength >= 4 && magic.some((b, i) => head[i] !== b)) {
        throw new SyntaxError("Not a core: no ELF magic");
      }
      throw new RangeError(`Core truncated: ended after ${head.byteLength} of ${n} bytes`);
    }
  };
  await need(ELF_HEADER_SIZE);
  let where = findNotes(head);
  if (!("offset" in where)) {
    await need(where.phEnd);
    where = findNotes(head);
  }
  if (!("offset" in where)) throw new SyntaxError("Not a core: no PT_NOTE segment");
  await need(where.offset + where.size);
  return { facts: parseNotes(head.subarray(where.offset, where.offset + where.size)), head };
}
