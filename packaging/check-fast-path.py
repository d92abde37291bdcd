#!/usr/bin/env python3
"""Proves that the code reachable from an ELF entry point can run before
glibc's start-up in a static-pie.

Until glibc's _start has relocated the image and set up the thread pointer,
code may not: call a glibc function (the string functions are IFUNCs reached
through .plt/.iplt slots still unresolved), touch thread-local storage (FS is
0), read a word that needs a relocation (only .rodata, .text and .bss hold
none), make an indirect call or jump (its target may be an unrelocated
pointer), or reach Rust's panic machinery (it needs TLS and allocation).

  packaging/check-fast-path.py BINARY [--entry SYM|ADDR] [--stop SYM|ADDR]...
                               [--map LINKER.map] [--max-report N]
  packaging/check-fast-path.py --self-test

The binary may be stripped: the walk is a recursive descent over objdump's
listing of .text from the entry, following fall-through, direct jumps and
direct calls. A path ends at ret, at a trap (ud2, int3, hlt: the process
dies there, which is what LLVM's `unreachable` means), at a stop address
(default: _start, from the symbols or the map), or at a jump the check
rejects. `syscall` is an ordinary instruction: the walk goes on after it, so
an exit_group must be followed by a trap (Rust's noreturn asm and
`unreachable` are). The fall-through after a call is walked only once the
callee is known to return (it reaches a ret), so the code after a call to a
function that never returns is not mistaken for its continuation.
Names (for messages, --entry/--stop, and to recognise glibc and panic
functions) come from the symbol table, else from the linker map (GNU ld or
lld format); the map also tells which archive member each function comes
from, and is refused when it does not match the binary. --stop replaces the
default stop. Every RELA and RELR relocation is checked to patch no word of
.rodata, .text or .bss (RELR decoded here, compared with readelf's).

What it cannot see: a return address rewritten on the stack (push + ret, a
retpoline) is taken for an ordinary return; data read through a pointer
held in a register is trusted (it can only come from the stack, the kernel,
or a clean section); glibc is recognised by name only through the map (or,
unstripped, by a list of names), otherwise only by its own violations.

Exit status: 0 proven, 1 violations (one line each), 2 unusable input.
"""

import argparse
import bisect
import collections
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

# The only sections whose contents no relocation patches (checked below).
CLEAN = (".rodata", ".text", ".bss")

# Functions of Rust's panic and allocation-failure paths, mangled (legacy or
# v0) or not: all of them end in the panic runtime.
PANIC_RE = re.compile(
    r"panic|unwrap_failed|expect_failed|_fail(?:17h|E|$|\.)|rust_begin_unwind"
    r"|handle_alloc_error|capacity_overflow|raw_vec.*handle_error"
)
# Archive members that are glibc (or the C run-time files linked with it).
GLIBC_OBJ_RE = re.compile(
    r"/lib(?:c|m|pthread|dl|rt|resolv|c_nonshared)\.a\(|/[rSg]?crt[1in]\.o$"
)
# Without a map, glibc is recognised by name: the IFUNC string family and
# the internal prefixes of the functions a static link pulls in.
GLIBC_NAME_RE = re.compile(
    r"^(?:__)?(?:mem|str|stp|wmem|wcs|rawmem|bcmp|bzero)\w*$|^__libc_|^_dl_|^__GI_"
    r"|^_IO_|^__(?:syscall_error|errno_location|assert_fail|stack_chk_fail)$"
    r"|^(?:syscall|malloc|calloc|realloc|free|abort|exit|_exit|write|read)$"
)


# .text.unlikely and its kin: section kinds, not function names.
SECTION_WORDS = {"unlikely", "hot", "startup", "exit", "split"}


class Fail(Exception):
    """An input the check cannot work on (exit status 2)."""


def run(*argv):
    try:
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise Fail(f"{argv[0]} not found (binutils)")
    except subprocess.CalledProcessError as e:
        raise Fail(f"{' '.join(argv)}: {e.stderr.strip()}")


# ---------------------------------------------------------------- ELF facts


class Section:
    def __init__(self, name, kind, addr, offset, size, flags):
        self.name, self.kind, self.addr = name, kind, addr
        self.offset, self.size, self.flags = offset, size, flags

    @property
    def end(self):
        return self.addr + self.size


def read_sections(path):
    """Allocated sections from readelf -SW, without .tbss: it takes no
    address space of its own (it overlaps what follows it)."""
    secs = []
    row = re.compile(
        r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)"
        r"\s+[0-9a-f]+\s+([A-Za-z]*)"
    )
    for line in run("readelf", "-SW", path).splitlines():
        m = row.match(line)
        if not m:
            continue
        name, kind, addr, off, size, flags = m.groups()
        if "A" in flags and not ("T" in flags and kind == "NOBITS"):
            secs.append(Section(name, kind, int(addr, 16), int(off, 16), int(size, 16), flags))
    return secs


def section_at(secs, addr, size=1):
    for s in secs:
        if s.addr <= addr and addr + size <= s.end:
            return s
    return None


def read_entry(path):
    m = re.search(r"Entry point address:\s+0x([0-9a-f]+)", run("readelf", "-hW", path))
    if not m:
        raise Fail(f"{path}: no entry point in the ELF header")
    return int(m.group(1), 16)


def read_symbols(path):
    """Function and untyped symbols of .symtab (none in a stripped binary)."""
    syms, in_symtab = [], False
    for line in run("readelf", "-sW", path).splitlines():
        if line.startswith("Symbol table"):
            in_symtab = "'.symtab'" in line
            continue
        f = line.split()
        if in_symtab and len(f) >= 8 and f[3] in ("FUNC", "NOTYPE") and f[6] != "UND":
            syms.append((int(f[1], 16), f[7].split("@")[0]))
    return syms


# ---------------------------------------------------------- relocations


def decode_relr(data, entry_size=8):
    """DT_RELR: an even entry is an address to relocate; an odd one is a
    bitmap of the 63 words following the previous run."""
    out, where = [], 0
    for (word,) in struct.iter_unpack("<Q", data):
        if word & 1 == 0:
            out.append(word)
            where = word + entry_size
        else:
            bits = word >> 1
            out.extend(where + i * entry_size for i in range(63) if bits >> i & 1)
            where += 63 * entry_size
    return out


def relocations(path, secs):
    """{address: (what, value)} for every word the image's relocations
    patch; value is the unrelocated target (addend, or the word stored there
    for RELR) when known. RELA rows come from readelf -r; RELR is decoded
    here from the section's bytes and compared with readelf's own decoding
    when it prints one (binutils 2.40 does)."""
    relocs, readelf_relr, current = {}, set(), None
    for line in run("readelf", "-rW", path).splitlines():
        m = re.match(r"Relocation section '([^']+)'", line)
        if m:
            current = m.group(1)
            continue
        f = line.split()
        if current is None or not f or not re.fullmatch(r"[0-9a-f]{8,16}", f[0]):
            continue
        if len(f) == 1:
            readelf_relr.add(int(f[0], 16))
        elif len(f) >= 3:
            value = int(f[-1], 16) if len(f) == 4 and re.fullmatch(r"[0-9a-f]+", f[-1]) else None
            relocs[int(f[0], 16)] = (f"{f[2]} ({current})", value)
    with open(path, "rb") as fh:
        image = fh.read()
    for s in secs:
        if s.kind != "RELR":
            continue
        mine = decode_relr(image[s.offset : s.offset + s.size])
        if readelf_relr and set(mine) != readelf_relr:
            raise Fail(f"{path}: own RELR decoding of {s.name} disagrees with readelf")
        for addr in mine:
            relocs[addr] = (f"RELR ({s.name})", stored_word(image, secs, addr))
    return relocs


def stored_word(image, secs, addr):
    s = section_at(secs, addr, 8)
    if s is None or s.kind == "NOBITS":
        return None
    at = s.offset + addr - s.addr
    return struct.unpack_from("<Q", image, at)[0]


def check_relocations(relocs, secs):
    """The premise of the RIP-relative rule: no relocation in .rodata,
    .text or .bss."""
    clean = [s for s in secs if s.name in CLEAN]
    bad = []
    for addr in sorted(relocs):
        for s in clean:
            if s.addr < addr + 8 and addr < s.end:  # the patched word overlaps s
                bad.append(f"{addr:#x}: relocation {relocs[addr][0]} patches {s.name}, "
                           "which must need none")
    return bad


# ------------------------------------------------------------ linker map


def read_map(path):
    """Input sections (addr, size, object, section) and symbols (addr, name)
    of a GNU ld or lld map, plus the output sections {name: (addr, size)}."""
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    if lines and lines[0].split()[:3] == ["VMA", "LMA", "Size"]:
        return read_lld_map(lines)
    return read_gnu_map(lines)


def read_lld_map(lines):
    # VMA LMA Size Align, then the name indented by level: 1 output section,
    # 9 input section ("object:(section)"), 17 symbol.
    row = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ (\s*)(\S.*)$")
    inputs, syms, outs = [], [], {}
    for line in lines[1:]:
        m = row.match(line)
        if not m:
            continue
        addr, size = int(m.group(1), 16), int(m.group(2), 16)
        indent, rest = len(m.group(3)), m.group(4)
        if indent == 0:
            outs[rest] = (addr, size)
        elif ":(" in rest and rest.endswith(")") and indent < 16:
            obj, sec = rest[:-1].split(":(", 1)
            inputs.append((addr, size, obj, sec))
        elif indent >= 16:
            syms.append((addr, rest))
    return inputs, syms, outs


def read_gnu_map(lines):
    out_re = re.compile(r"^(\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)")
    in_re = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+) (\S.*)$")
    sym_re = re.compile(r"^\s+0x([0-9a-f]+)\s+([A-Za-z_.$][\w.$@]*)$")
    inputs, syms, outs, pending = [], [], {}, None
    started = False
    for line in lines:
        if line.startswith("Linker script and memory map"):
            started = True
        if not started:
            continue
        if re.match(r"^ (\.\S+)$", line):  # a long input section name wraps
            pending = line.strip()
            continue
        m = out_re.match(line)
        if m:
            outs[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
        m = in_re.match(line)
        if m and (m.group(1) or pending) and m.group(1) != "*fill*":
            sec = m.group(1) or pending
            inputs.append((int(m.group(2), 16), int(m.group(3), 16), m.group(4).strip(), sec))
        m = sym_re.match(line)
        if m:
            syms.append((int(m.group(1), 16), m.group(2)))
        pending = None
    return inputs, syms, outs


def check_map_matches(map_data, secs, binary, map_path):
    """A map from another link would name the wrong code: every allocated
    section the map describes must have the binary's address and size."""
    outs = map_data[2]
    if ".text" not in outs:
        raise Fail(f"{map_path}: no .text output section (not a linker map?)")
    for s in secs:
        if s.name in outs and outs[s.name] != (s.addr, s.size):
            raise Fail(f"{map_path} does not describe {binary} ({s.name} differs): a stale map?")


# ------------------------------------------------------------------ names


class Names:
    """Address <-> name, and where the code at an address comes from."""

    def __init__(self, symbols, map_data, secs):
        self.secs = secs
        labels = {}
        self.inputs = []
        if map_data:
            inputs, syms, _ = map_data
            self.inputs = sorted(i for i in inputs if i[3].startswith(".text") and i[1])
            for addr, _, obj, sec in self.inputs:
                # LTO makes most Rust functions local: the map names them
                # only by their input section, .text.NAME. (glibc's
                # .text.avx and the like name no function.)
                name = re.sub(r"^\.text\.(?:unlikely\.|hot\.|startup\.)?", "", sec)
                if name != sec and not GLIBC_OBJ_RE.search(obj) and name not in SECTION_WORDS:
                    labels.setdefault(addr, name)
            for addr, name in syms:
                labels[addr] = name
        for addr, name in symbols:
            labels[addr] = name
        self.by_name = {name: addr for addr, name in labels.items()}
        self.addrs = sorted(labels)
        self.labels = labels
        self.input_starts = [i[0] for i in self.inputs]
        self.have_map = bool(map_data)

    def lookup(self, text):
        """An address given as hex or as a name; None if unknown."""
        if re.fullmatch(r"(0x)?[0-9a-fA-F]+", text) and text not in self.by_name:
            return int(text, 16)
        return self.by_name.get(text)

    def label(self, addr):
        """The nearest name at or below addr, as name or name+0xoff."""
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        base = self.addrs[i]
        if section_at(self.secs, base) is not section_at(self.secs, addr):
            return None  # a name from another section would mislead
        name = self.labels[base]
        return name if base == addr else f"{name}+{addr - base:#x}"

    def show(self, addr):
        label = self.label(addr)
        return f"{addr:#x} <{label}>" if label else f"{addr:#x}"

    def origin(self, addr):
        """The object file (from the map) the code at addr comes from."""
        i = bisect.bisect_right(self.input_starts, addr) - 1
        if i >= 0:
            start, size, obj, _ = self.inputs[i]
            if addr < start + size:
                return obj
        return None

    def forbidden(self, addr):
        """Why a call to addr is forbidden by who owns it, or None."""
        label = self.label(addr) or ""
        name = label.split("+")[0]
        if PANIC_RE.search(name):
            return "Rust panic machinery"
        obj = self.origin(addr)
        if obj is not None and GLIBC_OBJ_RE.search(obj):
            return f"glibc ({os.path.basename(obj)})"
        if not self.have_map and GLIBC_NAME_RE.search(name):
            return "glibc"
        return None


# ---------------------------------------------------------- the listing


class Listing:
    """objdump's instructions of .text, indexed by address."""

    def __init__(self, path):
        argv = ["objdump", "-d", "-w", "--no-show-raw-insn", "-M", "att", "-j", ".text", path]
        self.addrs, self.texts = [], []
        # Streamed: the listing of a 2 MB .text is ~25 MB of text.
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
            for line in p.stdout:
                head, sep, text = line.partition(":\t")
                if sep and head.startswith(" "):
                    self.addrs.append(int(head, 16))
                    self.texts.append(text.strip())
            err = p.stderr.read()
        if p.returncode != 0:
            raise Fail(f"objdump -d {path}: {err.strip()}")
        self.index = {a: i for i, a in enumerate(self.addrs)}

    def next_addr(self, addr):
        i = self.index[addr] + 1
        return self.addrs[i] if i < len(self.addrs) else None


PREFIXES = re.compile(
    r"^((?:(?:lock|rep\w*|notrack|bnd|data16|data32|addr32|[c-gs]s|rex(?:\.\w+)?"
    r"|xacquire|xrelease|\{\w+\})\s+)*)(\S+)\s*(.*)$"
)
DIRECT = re.compile(r"^(?:0x)?([0-9a-f]+)(?:\s+<[^>]*>)?$")


class Insn:
    def __init__(self, addr, text):
        self.addr, self.text = addr, text
        m = PREFIXES.match(text)
        self.prefixes, self.op = m.group(1).split(), m.group(2)
        operands, _, self.comment = m.group(3).partition("#")
        self.operands = operands.strip()
        d = DIRECT.match(self.operands)
        self.target = int(d.group(1), 16) if d else None

    def kind(self):
        op = self.op
        if op in ("ret", "retq"):
            return "ret"
        if op in ("ud2", "ud1", "ud0", "int3", "hlt"):
            return "trap"
        if op in ("call", "callq", "jmp", "jmpq"):
            base = "call" if op.startswith("call") else "jmp"
            return base if self.target is not None else "indirect " + base
        if re.fullmatch(r"j[a-z]+|loop\w*|xbegin", op):
            return "jcc" if self.target is not None else "indirect jmp"
        if op in ("lcall", "ljmp", "lret", "lretq", "iret", "iretq", "sysret"):
            return "far"
        return "plain"


def operand_problems(insn, secs, slot):
    """Violations visible in the instruction itself: TLS, relocated data,
    undecodable bytes."""
    bad = []
    if re.search(r"%[fg]s\b", insn.operands) or set(insn.prefixes) & {"fs", "gs"} \
            or re.fullmatch(r"(rd|wr)[fg]sbase|swapgs", insn.op):
        bad.append("thread-local storage (FS/GS is not set up)")
    if insn.op in ("(bad)", ".byte", ".word") or insn.op.startswith("(bad"):
        bad.append("undecodable bytes")
    if "(%rip)" in insn.operands:
        m = re.match(r"\s*(?:0x)?([0-9a-f]+)", insn.comment)
        if not m:
            bad.append("RIP-relative operand without a resolved address")
        else:
            target = int(m.group(1), 16)
            s = section_at(secs, target)
            if s is None or s.name not in CLEAN:
                where = s.name if s else "no section"
                bad.append(f"refers to {target:#x} in {where}{slot(target)}, not {'/'.join(CLEAN)}")
    return bad


# ---------------------------------------------------------------- the walk


class Func:
    def __init__(self, entry, caller):
        self.entry, self.caller = entry, caller
        self.body = set()
        self.returns = False
        self.waiting = []  # (caller Func, address after its call)


class Walk:
    def __init__(self, listing, secs, names, stops, relocs):
        self.listing, self.secs, self.names = listing, secs, names
        self.relocs = relocs
        self.stops = set(stops)
        self.funcs = {}
        self.todo = collections.deque()
        self.seen = set()
        self.violations = {}

    def run(self, entry):
        if entry not in self.listing.index:
            raise Fail(f"entry {entry:#x} is not an instruction of .text")
        self.func(entry, None)
        while self.todo:
            self.step(*self.todo.popleft())

    def func(self, entry, caller):
        f = self.funcs.get(entry)
        if f is None:
            f = self.funcs[entry] = Func(entry, caller)
            self.todo.append((f, entry))
        return f

    def slot(self, addr):
        """What a relocated word will hold, for the message: a GOT slot
        read by `call *slot(%rip)` names the function called."""
        what, value = self.relocs.get(addr, (None, None))
        if what is None:
            return ""
        if value is None:
            return f" (relocated: {what})"
        return f" (relocated: {what}, to {self.names.show(value)})"

    def report(self, f, addr, why):
        """One line per address: the instruction, every reason, and the
        call chain from the entry (first path found)."""
        if addr in self.violations:
            if why not in self.violations[addr][0]:
                self.violations[addr][0].append(why)
            return
        chain, g = [], f
        while g is not None:
            chain.append(self.names.label(g.entry) or f"{g.entry:#x}")
            g = g.caller
        self.violations[addr] = ([why], " > ".join(reversed(chain)))

    def lines(self):
        out = []
        for addr in sorted(self.violations):
            whys, chain = self.violations[addr]
            text = re.sub(r"\s+", " ", self.listing.texts[self.listing.index[addr]])
            out.append(f"{self.names.show(addr)}: {text}: {'; '.join(whys)} [via {chain}]")
        return out

    def goto(self, f, src, target):
        """An edge to target: it must be an instruction of .text."""
        if target in self.stops:
            return False
        s = section_at(self.secs, target)
        if s is None or s.name != ".text":
            where = s.name if s else "no section"
            self.report(f, src, f"target {target:#x} is in {where}, outside .text")
        elif target not in self.listing.index:
            self.report(f, src, f"target {target:#x} is not an instruction start")
        else:
            return True
        return False

    def fall(self, f, addr):
        nxt = self.listing.next_addr(addr)
        if nxt is None:
            self.report(f, addr, "falls off the end of .text")
        else:
            self.todo.append((f, nxt))

    def step(self, f, addr):
        if addr in f.body or addr in self.stops:
            return
        f.body.add(addr)
        insn = Insn(addr, self.listing.texts[self.listing.index[addr]])
        if addr not in self.seen:
            self.seen.add(addr)
            for why in operand_problems(insn, self.secs, self.slot):
                self.report(f, addr, why)
        kind = insn.kind()
        if kind == "ret":
            self.returned(f)
        elif kind == "jmp" or kind == "jcc":
            self.jump(f, insn)
            if kind == "jcc":
                self.fall(f, addr)
        elif kind == "call":
            self.call(f, insn)
        elif kind in ("indirect call", "indirect jmp", "far"):
            self.report(f, addr, f"{kind} (its target may be an unrelocated pointer)")
            if kind == "indirect call":
                self.fall(f, addr)
        elif kind == "plain":
            self.fall(f, addr)
        # "trap": the path ends, the process dies there.

    def jump(self, f, insn):
        if insn.target in self.stops:
            return
        why = self.names.forbidden(insn.target)
        # A jump inside a glibc function (walked into by a tail call) is
        # not a new violation: only entering it is.
        if why and self.names.forbidden(insn.addr) != why:
            self.report(f, insn.addr, f"jumps to {why}: {self.names.show(insn.target)}")
        elif self.goto(f, insn.addr, insn.target):
            self.todo.append((f, insn.target))

    def call(self, f, insn):
        target = insn.target
        if target in self.stops:
            return
        why = self.names.forbidden(target)
        if why:
            self.report(f, insn.addr, f"calls {why}: {self.names.show(target)}")
            if "panic" not in why:  # panics do not come back
                self.fall(f, insn.addr)
            return
        if not self.goto(f, insn.addr, target):
            self.fall(f, insn.addr)  # reported; look for more behind it
            return
        callee = self.func(target, f)
        after = self.listing.next_addr(insn.addr)
        if callee.returns:
            self.fall(f, insn.addr)
        elif after is not None:
            callee.waiting.append((f, after))

    def returned(self, f):
        """f reaches a ret: the code after every call to it is reachable."""
        if f.returns:
            return
        f.returns = True
        for caller, after in f.waiting:
            self.todo.append((caller, after))
        f.waiting = []


# --------------------------------------------------------------- self-test

# One C program, one forbidden thing per CASE. The entry `ent` is assembly:
# with argc == 1 it runs the fast path `fast`, else it jumps to glibc's
# _start (the stop address), as the real fast path hands off.
SELF_TEST_C = r"""
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

__asm__(".globl ent\n"
        "ent:\n"
        "  cmpq $1, (%rsp)\n"
        "  jne _start\n"
        "  and $-16, %rsp\n"
        "  call fast\n"
        "  ud2\n");

static long sys3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}

/* Defeats constant folding: the compiler cannot know the value. */
static long opaque(long v) { __asm__ volatile("" : "+r"(v)); return v; }

static const char greeting[] = "fast path ok\n";   /* .rodata */
static char scratch[64];                            /* .bss */
const char *const table[] = {"a", "bb", "ccc"};     /* .data.rel.ro */
int counter = 5;                                    /* .data */
__thread long per_thread;                           /* TLS */
#ifdef BAD_RODATA_RELOC /* a pointer forced into .rodata: a relocation there */
__attribute__((section(".rodata"))) const char *const in_rodata = greeting;
#endif

__attribute__((noinline)) static long helper(long n) {
    long sum = 0;
    for (long i = 0; i < n; i++) { scratch[i & 63] = (char)i; sum += scratch[i & 63]; }
    return sum;
}
static void noop(void) {}
#ifdef BAD_PANIC /* harmless, but named as Rust's panic entry */
__attribute__((noinline)) void rust_begin_unwind(void) { sys3(SYS_getpid, 0, 0, 0); }
#endif

__attribute__((noreturn, used)) void fast(void) {
    char stack[16];
    long n = opaque(4);
    for (int i = 0; i < 16; i++) stack[i] = (char)(i + 'a');
    sys3(SYS_write, 1, (long)greeting, sizeof greeting - 1);
    /* Stack data, a call that returns, a loop over .bss: writes 0 bytes. */
    sys3(SYS_write, 1, (long)stack, helper(n) >> 40);
#if defined(BAD_MEMCPY)
    memcpy(scratch, stack, n);
#elif defined(BAD_TABLE)
    sys3(SYS_write, 1, (long)table[n & 1], 1);
#elif defined(BAD_DATA)
    sys3(SYS_exit_group, counter, 0, 0);
#elif defined(BAD_TLS)
    per_thread = n;
#elif defined(BAD_ICALL)
    void (*volatile fp)(void) = noop;
    fp();
#elif defined(BAD_IJMP)
    /* A computed goto over label offsets: an indirect jump, no relocation. */
    static const int offsets[] = {0, &&two - &&one};
    goto *(&&one + offsets[n & 1]);
one:
    sys3(SYS_write, 1, (long)stack, 1);
two:
    sys3(SYS_write, 1, (long)stack, 2);
#elif defined(BAD_GLIBC)
    syscall(SYS_write, 1, stack, 1);
#elif defined(BAD_PANIC)
    rust_begin_unwind();
#elif defined(BAD_RODATA_RELOC)
    sys3(SYS_write, 1, (long)in_rodata, 1);
#endif
    (void)noop; /* used by BAD_ICALL only */
    sys3(SYS_exit_group, 0, 0, 0);
    __builtin_trap();
}

int main(void) { write(1, "main path\n", 10); return 0; }
"""

# (case, expected words in the report); each must be rejected for its reason.
SELF_TEST_BAD = [
    ("MEMCPY", "outside .text"),
    ("TABLE", "in .data.rel.ro"),
    ("DATA", "in .data,"),
    ("TLS", "thread-local storage"),
    ("ICALL", "indirect call"),
    ("IJMP", "indirect jmp"),
    ("GLIBC", "calls glibc"),
    ("PANIC", "calls Rust panic machinery"),
    ("RODATA_RELOC", "patches .rodata"),
]

CFLAGS = ["-O2", "-static-pie", "-fno-stack-protector", "-fno-builtin",
          "-fno-tree-loop-distribute-patterns", "-Wl,-z,pack-relative-relocs", "-Wl,-e,ent"]


def build_case(tmp, case):
    src = os.path.join(tmp, "t.c")
    if not os.path.exists(src):
        with open(src, "w") as f:
            f.write(SELF_TEST_C)
    out = os.path.join(tmp, case.lower())
    defs = [f"-DBAD_{case}"] if case != "GOOD" else []
    if case == "RODATA_RELOC":  # ld refuses a relocated read-only segment unless told
        defs.append("-Wl,-z,notext")
    r = subprocess.run(["gcc", *CFLAGS, *defs, f"-Wl,-Map={out}.map", "-o", out, src],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail(f"self-test: gcc for {case}: {r.stderr.strip()}")
    return out


def checker(argv):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), *argv],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def expect(name, ok, detail, words=None):
    """Prints the outcome with the report line that shows it (the one
    holding words, else the last one)."""
    lines = detail.strip().splitlines() or [""]
    line = next((x for x in lines if words and words in x), lines[-1])
    print(f"self-test: {'ok  ' if ok else 'FAIL'} {name}\n    {line}")
    return bool(ok)


def self_test_good(tmp):
    good = build_case(tmp, "GOOD")
    # The good program really runs before glibc's start-up, and hands off.
    fast = subprocess.run([good], capture_output=True, text=True)
    slow = subprocess.run([good, "x"], capture_output=True, text=True)
    results = [expect("good program runs its fast path", fast.stdout == "fast path ok\n"
                      and fast.returncode == 0, fast.stdout or str(fast.returncode)),
               expect("good program hands off to _start", slow.stdout == "main path\n",
                      slow.stdout or str(slow.returncode))]
    rc, out = checker([good])
    results.append(expect("good program accepted (symbols)", rc == 0, out))
    stripped = good + ".stripped"
    run("strip", "-o", stripped, good)
    rc, out = checker([stripped, "--map", good + ".map"])
    results.append(expect("good program accepted (stripped, map)", rc == 0, out))
    rc, out = checker([stripped])
    results.append(expect("stripped, no stop: the walk into _start is rejected",
                          rc == 1 and "indirect call" in out, out, "indirect call"))
    rc, out = checker([stripped, "--map", good + ".map", "--entry", "fast"])
    results.append(expect("--entry by name from the map", rc == 0 and "<fast>" in out, out))
    rc, out = checker([good, "--entry", "_start"])
    results.append(expect("entry == stop is refused", rc == 2, out))
    rc, out = checker([stripped, "--map", os.path.join(tmp, "t.c")])
    results.append(expect("a file that is no map is refused", rc == 2, out))
    return results


def self_test_bad(tmp):
    results = []
    for case, words in SELF_TEST_BAD:
        binary = build_case(tmp, case)
        rc, out = checker([binary])
        ok = rc == 1 and words in out
        results.append(expect(f"{case} rejected ({words})", ok, out, words))
    # The map of another build is refused, not trusted.
    rc, out = checker([os.path.join(tmp, "good"), "--map", os.path.join(tmp, "tls.map")])
    results.append(expect("the map of another build is refused", rc == 2 and "stale" in out, out))
    # Stripped, only the map names glibc's objects.
    binary = os.path.join(tmp, "glibc")
    run("strip", "-o", binary + ".stripped", binary)
    rc, out = checker([binary + ".stripped", "--map", binary + ".map"])
    words = "calls glibc (libc.a(syscall.o))"
    results.append(expect("GLIBC rejected when stripped, from the map",
                          rc == 1 and words in out, out, words))
    return results


def self_test():
    if not shutil.which("gcc"):
        raise Fail("self-test needs gcc")
    relr = decode_relr(struct.pack("<QQ", 0x1000, (0b101 << 1) | 1))
    results = [expect("RELR decoding", relr == [0x1000, 0x1008, 0x1018], str(relr))]
    with tempfile.TemporaryDirectory(prefix="check-fast-path.") as tmp:
        results += self_test_good(tmp)
        results += self_test_bad(tmp)
    failed = results.count(False)
    print(f"self-test: {len(results) - failed} of {len(results)} passed")
    return 1 if failed else 0


# ------------------------------------------------------------------ driver


def demangle(lines):
    """Readable Rust names in the report (c++filt knows both manglings)."""
    mangled = sorted({m for line in lines for m in re.findall(r"\b_(?:ZN|R)[\w$.]+", line)})
    if not mangled or not shutil.which("c++filt"):
        return lines
    plain = run("c++filt", *mangled).splitlines()
    table = dict(zip(mangled, plain))
    return [re.sub(r"\b_(?:ZN|R)[\w$.]+", lambda m: table.get(m.group(0), m.group(0)), line)
            for line in lines]


def resolve(names, text, what):
    addr = names.lookup(text)
    if addr is None:
        raise Fail(f"{what} {text!r}: no such symbol (give an address, or --map)")
    return addr


def load(args):
    """Sections, names, entry and stop addresses of the binary to check."""
    secs = read_sections(args.binary)
    text = next((s for s in secs if s.name == ".text"), None)
    if text is None:
        raise Fail(f"{args.binary}: no .text section")
    map_data = read_map(args.map) if args.map else None
    if map_data:
        check_map_matches(map_data, secs, args.binary, args.map)
    names = Names(read_symbols(args.binary), map_data, secs)
    entry = resolve(names, args.entry, "--entry") if args.entry else read_entry(args.binary)
    stops = [resolve(names, s, "--stop") for s in args.stop]
    if not args.stop and "_start" in names.by_name:
        stops = [names.by_name["_start"]]
    if not stops:
        print("check-fast-path: warning: no stop address (_start unknown): "
              "give --stop or --map", file=sys.stderr)
    if entry in stops:
        # Nothing would be walked: a check that cannot fail.
        raise Fail(f"the entry {names.show(entry)} is a stop address: no fast path to check")
    return secs, names, entry, stops


def check_labels(names, listing, secs, map_path):
    """A map from another build can have the same section sizes (padding
    absorbs small changes) while its functions moved: then some of its
    names fall inside instructions."""
    text = next(s for s in secs if s.name == ".text")
    off = [a for a in names.addrs if text.addr <= a < text.end and a not in listing.index]
    if off:
        raise Fail(f"{map_path}: {len(off)} names (first {names.show(off[0])}) are not "
                   "instruction starts in .text: a stale map?")


def check(args):
    started = time.monotonic()
    secs, names, entry, stops = load(args)
    relocs = relocations(args.binary, secs)
    bad = check_relocations(relocs, secs)
    listing = Listing(args.binary)
    if args.map:
        check_labels(names, listing, secs, args.map)
    walk = Walk(listing, secs, names, stops, relocs)
    walk.run(entry)
    bad += walk.lines()
    elapsed = time.monotonic() - started

    head = f"check-fast-path: from {names.show(entry)}"
    walked = f"{len(walk.seen)} instructions in {len(walk.funcs)} functions"
    if bad:
        shown = bad if args.max_report <= 0 else bad[: args.max_report]
        for line in demangle(shown):
            print(f"check-fast-path: {line}")
        print(f"{head}: {len(bad)} violation(s) ({len(shown)} shown) in {walked} ({elapsed:.2f}s)")
        return 1
    stop_text = ", ".join(names.show(s) for s in stops) or "none"
    print(f"{head}: ok, {walked} walked, {min(walk.seen):#x}..{max(walk.seen):#x}, "
          f"stops at {stop_text}; no relocation in {'/'.join(CLEAN)} ({elapsed:.2f}s)")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("binary", nargs="?")
    p.add_argument("--entry", help="symbol or hex address (default: the ELF entry point)")
    p.add_argument("--stop", action="append", default=[],
                   help="symbol or hex address where a path ends legitimately (default: _start)")
    p.add_argument("--map", help="the linker map (names for a stripped binary)")
    p.add_argument("--max-report", type=int, default=100,
                   help="print at most N violations (0: all); all are counted")
    p.add_argument("--self-test", action="store_true")
    args = p.parse_args(argv)
    try:
        if args.self_test:
            return self_test()
        if not args.binary:
            p.error("the binary to check is missing")
        return check(args)
    except Fail as e:
        print(f"check-fast-path: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
