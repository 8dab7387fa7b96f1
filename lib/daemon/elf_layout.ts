/**
 * Where an ELF core keeps what lttng-trig reads (lib/daemon/elf_core.ts reads it): the
 * ELF header's and program headers' fields, and the notes' layouts, 64-bit and the
 * kernel's 32-bit compat ones, each with its C struct.
 *
 * @module
 */
import { UNKNOWN_ID } from "./held_process.ts";

/**
 * Bytes read first, outside the budget: a 64-bit ELF header (a 32-bit one is 52 bytes,
 * and its program headers follow; every core is longer than 64 bytes).
 */
export const ELF_HEADER_SIZE = 64;
const ET_CORE = 4;
/** `p_type` of the notes' program header. */
export const PT_NOTE = 4;
/** Note types read: NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO. */
export const NT_PRSTATUS = 1;
/** See {@linkcode NT_PRSTATUS}. */
export const NT_PRPSINFO = 3;
/** See {@linkcode NT_PRSTATUS}. */
export const NT_SIGINFO = 0x53494749;
const EM_386 = 3;
const EM_ARM = 40;
const EM_X86_64 = 62;

/** Where NT_PRPSINFO keeps each fact, and its size. */
export interface PrpsinfoLayout {
  size: number;
  uid(v: DataView, at: number): number;
  gid(v: DataView, at: number): number;
  pid: number;
  ppid: number;
  fname: number;
  psargs: number;
}

/** The layout of a class of little-endian cores. */
export interface CoreLayout {
  /** Size of the ELF header: program headers start at or after it. */
  ehsize: number;
  /** Size of a program header. */
  phentsize: number;
  /** `e_phoff`. */
  phoff(v: DataView): number;
  /** Offsets of `e_phentsize` and `e_phnum`. */
  phentsizeAt: number;
  phnumAt: number;
  /** `p_offset` and `p_filesz` of the program header at `at`. */
  pOffset(v: DataView, at: number): number;
  pFilesz(v: DataView, at: number): number;
  /** NT_PRPSINFO, or why its layout is not known. */
  prpsinfo: PrpsinfoLayout | string;
  /** Offset of `pr_pid` (the thread's tid) in NT_PRSTATUS. */
  prstatusPid: number;
}

/**
 * The 64-bit layouts, the same on x86-64 and arm64:
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
 * struct elf_prpsinfo {          // 136 bytes
 *   char pr_state, pr_sname, pr_zomb, pr_nice;  // 0
 *   unsigned long pr_flag;       // 8
 *   __kernel_uid_t pr_uid;       // 16 (u32)
 *   __kernel_gid_t pr_gid;       // 20 (u32)
 *   pid_t pr_pid, pr_ppid, pr_pgrp, pr_sid;  // 24, 28, 32, 36
 *   char pr_fname[16];           // 40
 *   char pr_psargs[80];          // 56
 * };
 * ```
 */
export const LAYOUT_64: CoreLayout = {
  ehsize: 64,
  phentsize: 56,
  phoff: (v) => Number(v.getBigUint64(32, true)),
  phentsizeAt: 54,
  phnumAt: 56,
  pOffset: (v, at) => Number(v.getBigUint64(at + 8, true)),
  pFilesz: (v, at) => Number(v.getBigUint64(at + 32, true)),
  prpsinfo: {
    size: 136,
    uid: (v, at) => v.getUint32(at + 16, true),
    gid: (v, at) => v.getUint32(at + 20, true),
    pid: 24,
    ppid: 28,
    fname: 40,
    psargs: 56,
  },
  prstatusPid: 32,
};

/** A 16-bit id of a compat core: `(u16)-1` names no id. */
function id16(id: number): number {
  return id === 0xffff ? UNKNOWN_ID : id;
}

/**
 * The compat layouts a 64-bit kernel writes for a 32-bit task (fs/compat_binfmt_elf.c
 * renames `elf_prstatus` and `elf_prpsinfo` to these), from the kernel's
 * include/linux/elfcore-compat.h, with `compat_ulong_t` u32, `compat_pid_t` s32 and, on
 * x86 (ia32 and x32) and arm64 (arch/{x86,arm64}/include/asm/compat.h),
 * `__compat_uid_t` and `__compat_gid_t` u16:
 * ```c
 * struct compat_elf_prstatus_common {
 *   struct compat_elf_siginfo pr_info;  // 0: compat_int_t si_signo, si_code, si_errno
 *   short pr_cursig;                    // 12, then 2 bytes of padding
 *   compat_ulong_t pr_sigpend;          // 16
 *   compat_ulong_t pr_sighold;          // 20
 *   compat_pid_t pr_pid;                // 24: the thread's tid
 *   compat_pid_t pr_ppid, pr_pgrp, pr_sid;
 *   ...
 * };
 * struct compat_elf_prpsinfo {          // 124 bytes
 *   char pr_state, pr_sname, pr_zomb, pr_nice;  // 0
 *   compat_ulong_t pr_flag;             // 4
 *   __compat_uid_t pr_uid;              // 8 (u16)
 *   __compat_gid_t pr_gid;              // 10 (u16)
 *   compat_pid_t pr_pid, pr_ppid, pr_pgrp, pr_sid;  // 12, 16, 20, 24
 *   char pr_fname[16];                  // 28
 *   char pr_psargs[ELF_PRARGSZ];        // 44 (80 bytes)
 * };
 * ```
 * The kernel fills a 16-bit id with SET_UID (include/linux/highuid.h): an id past 16
 * bits becomes `overflowuid` (65534 by default), which then does not match the
 * process's real uid in /proc, so its uid is not proved (lib/daemon/held_process.ts) and
 * stays unknown; `0xffff` (`(u16)-1`) is taken as unknown at once.
 */
function layout32(machine: number): CoreLayout {
  const known = machine === EM_386 || machine === EM_ARM || machine === EM_X86_64;
  return {
    ehsize: 52,
    phentsize: 32,
    phoff: (v) => v.getUint32(28, true),
    phentsizeAt: 42,
    phnumAt: 44,
    pOffset: (v, at) => v.getUint32(at + 4, true),
    pFilesz: (v, at) => v.getUint32(at + 16, true),
    prpsinfo: known
      ? {
        size: 124,
        uid: (v, at) => id16(v.getUint16(at + 8, true)),
        gid: (v, at) => id16(v.getUint16(at + 10, true)),
        pid: 12,
        ppid: 16,
        fname: 28,
        psargs: 44,
      }
      : `32-bit core of machine ${machine}: its NT_PRPSINFO layout is not known, ` +
        `its pid, uid, gid and name are not parsed`,
    prstatusPid: 24,
  };
}

/**
 * The layout of the core whose first bytes are `head`, or why its facts cannot be
 * parsed (another byte order); throws when it is not an ELF core.
 */
export function coreLayout(head: Uint8Array): CoreLayout | { note: string } {
  if (head.byteLength < ELF_HEADER_SIZE) {
    throw new RangeError(
      `Cannot read core: ${head.byteLength} bytes is shorter than an ELF header`,
    );
  }
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint32(0, false) !== 0x7f454c46) throw new SyntaxError("Not a core: no ELF magic");
  const elfClass = head[4];
  const data = head[5];
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) {
    throw new SyntaxError(`Not a core: ELF class ${elfClass}, data encoding ${data}`);
  }
  if (v.getUint16(16, data === 1) !== ET_CORE) {
    throw new SyntaxError("Not a core: e_type is not ET_CORE");
  }
  const bits = elfClass === 1 ? 32 : 64;
  if (data === 2) return { note: `big-endian ${bits}-bit core: its facts are not parsed` };
  return bits === 64 ? LAYOUT_64 : layout32(v.getUint16(18, true));
}
