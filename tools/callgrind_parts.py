#!/usr/bin/python3
"""tools/callgrind-parts' accounting: callgrind's per-instruction counts (--dump-instr=yes) of
one pipeline run, charged to the lib part whose source the instruction comes from.

  callgrind_parts.py PARTS_CG RELEASE_CG BINARY FRAMES SESSIONS

PARTS_CG is the run of BINARY (the debug-info twin), RELEASE_CG the same run of build/'s
binary; prints total_ipp=, release_ipp=, part_<part>_ipp= and stack_ipp= per frame, and fails
when the two totals differ with an empty flow table (SESSIONS 0).
"""
import collections
import os
import re
import subprocess
import sys

# lib source file -> part. Helpers that only load or store for their caller (TRANSPARENT) are
# charged to it, as compiler intrinsics are.
PART_OF_FILE = {
    'checksum.h': 'checksums', 'checksum.cc': 'checksums',
    'udp_prediction.h': 'headers', 'udp_prediction.cc': 'headers',
    'packet.h': 'headers', 'packet.cc': 'headers',
    'client_hello.h': 'client_hello', 'client_hello.cc': 'client_hello',
    'classifier.h': 'classifier', 'classifier.cc': 'classifier', 'counters.h': 'classifier',
    'cookie.h': 'cookie_input', 'cookie.cc': 'cookie_input',
    'cookie_batch.h': 'cookie_input', 'cookie_batch.cc': 'cookie_input',
    'cmac.h': 'cmac', 'cmac.cc': 'cmac', 'cmac_batch.cc': 'cmac',
    'hvr_writer.h': 'hvr_writer', 'hvr_writer.cc': 'hvr_writer',
    'flow_table.h': 'flows', 'flow_table.cc': 'flows', 'hash.h': 'flows',
    'hvr_rate_limiter.h': 'flows', 'hvr_rate_limiter.cc': 'flows',
}
TRANSPARENT = {'bytes.h', 'endpoint.h'}
PARTS = ['checksums', 'headers', 'client_hello', 'classifier', 'cookie_input', 'cmac',
         'hvr_writer', 'flows', 'other']
# A memory operand on the stack or frame pointer (lea computes an address, touches nothing).
STACK_OPERAND = re.compile(r'\(%r[sb]p[),]')


def per_instruction(path):
    """Instruction address -> executions, from a callgrind file written with --dump-instr=yes
    (positions "instr line", each absolute, +/- relative or * for the same). The line after a
    calls= line is the call's inclusive cost, already counted in the callee: skipped."""
    counts = collections.Counter()
    addr = 0
    skip = False
    with open(path) as f:
        for line in f:
            if line.startswith('calls='):
                skip = True
                continue
            if not line or not (line[0].isdigit() or line[0] in '+-*'):
                continue
            fields = line.split()
            if len(fields) < 3:
                continue
            tok = fields[0]
            if tok.startswith('0x'):
                addr = int(tok, 16)
            elif tok[0] in '+-':
                addr += int(tok)
            elif tok != '*':
                addr = int(tok)
            if skip:
                skip = False
                continue
            counts[addr] += int(fields[2])
    return counts


def disassemble(binary):
    """Address -> instruction text, for every instruction of the binary."""
    text = {}
    out = subprocess.run(['objdump', '-d', '--no-show-raw-insn', binary], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r'^\s+([0-9a-f]+):\s+(.*)$', line)
        if m:
            text[int(m.group(1), 16)] = m.group(2)
    return text


def inline_chains(binary, addresses):
    """Address -> its source files, innermost inlined function first (addr2line -i)."""
    out = subprocess.run(['addr2line', '-i', '-a', '-e', binary] + ['%x' % a for a in addresses],
                         check=True, capture_output=True, text=True).stdout
    chains = {}
    current = None
    for line in out.splitlines():
        if line.startswith('0x'):
            current = int(line, 16)
            chains[current] = []
        elif current is not None:
            chains[current].append(line.split(':')[0])
    return chains


def part_of(chain):
    for path in chain:
        name = os.path.basename(path)
        if '/lib/dtlsgate/' in path and name not in TRANSPARENT:
            return PART_OF_FILE.get(name, 'other')
    return 'other'


def main():
    parts_cg, release_cg, binary = sys.argv[1], sys.argv[2], sys.argv[3]
    frames, sessions = int(sys.argv[4]), int(sys.argv[5])
    counts = per_instruction(parts_cg)
    total = sum(counts.values())
    release_total = sum(per_instruction(release_cg).values())
    text = disassemble(binary)
    chains = inline_chains(binary, sorted(a for a in counts if a in text))

    parts = collections.Counter()
    stack = 0
    for addr, n in counts.items():
        # Outside the binary (libc's memcpy, called by the MAC for its round keys): "other".
        parts[part_of(chains.get(addr, []))] += n
        insn = text.get(addr, '')
        if not insn.startswith(('lea', 'nop')) and STACK_OPERAND.search(insn):
            stack += n

    print('total_ipp=%.1f' % (total / frames))
    print('release_ipp=%.1f' % (release_total / frames))
    for name in PARTS:
        print('part_%s_ipp=%.1f' % (name, parts[name] / frames))
    print('stack_ipp=%.1f' % (stack / frames))
    # Other code runs at least one instruction more or less in every burst of 32 frames. The
    # frames themselves differ a little between processes (OpenSSL's ClientHello random, the
    # master secret), and over IPv6 parse_udp's short-circuit reads a second checksum byte
    # when the first is zero: a few dozen instructions in 16384 frames. So twins that differ
    # by less than one instruction per burst run the same code.
    if abs(total - release_total) >= frames // 32 and sessions == 0:
        print('callgrind-parts: build-parts/ runs %d instructions, build/ %d: the debug-info '
              'twin is not the same code' % (total, release_total), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
