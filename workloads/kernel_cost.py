#!/usr/bin/env python3
"""Counts the pattern kernels' own instructions per operation with callgrind.

  workloads/kernel_cost.py [--build DIR] [--ops N] WORKLOAD.yaml...

Runs each workload's trial (1 thread, no warm-up) under callgrind on the
system plug-in, collecting only inside the measured window: for a taped
pattern (workloads/README.md, The operation tape) the harness's replays of
its tape (timed_replay in harness/trial.c); for another, the pattern's step
function. thread_init, the record pass and the harness are out. The
instructions are split four ways:
  allocator  inclusive cost of the plug-in's malloc/free entries (sys_malloc,
             sys_free: glibc malloc and free under them)
  objects    the objects' own memory traffic: the mb_obj_* writes and reads
             (kernels.h) and libc memcpy/memset (growslice and copystack
             copies)
  accounting the harness's per-call accounting in the window: inlined from
             pattern.h (mb_alloc/mb_free) and its out-of-line path in
             opstats.c (latency sampling, usable sizes); a taped pattern
             accounts in its record pass, so only the out-of-line path's
             latency sampling is left here
  kernel     everything else: for a taped pattern the replay loop (an entry's
             dispatch, the slot table, the call set-up); for another, choosing
             sizes and lifetimes, the live-object queues, the walk, the loop
and printed per operation and per allocator call (malloc + free = 2 calls;
stack_alloc/stack_free go to malloc/free on the system plug-in).
"""
import argparse, json, os, re, subprocess, sys, tempfile

ENTRY = re.compile(r'^sys_(malloc|free)$')

def parse(out):
    """Per function: exclusive Ir, and for ENTRY functions inclusive Ir and
    calls, from a callgrind output file (name compression handled)."""
    files, fns = {}, {}
    excl, incl, calls = {}, {}, {}
    cur_fn = cur_file = None
    cfn = None
    pending_calls = None
    def name(table, tok):
        m = re.match(r'\((\d+)\)(?: (.*))?', tok)
        if not m:
            return tok
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), '?')
    for line in open(out):
        line = line.rstrip('\n')
        if line.startswith('fl=') or line.startswith('fi=') or line.startswith('fe='):
            cur_file = name(files, line[3:])
        elif line.startswith('fn='):
            cur_fn = name(fns, line[3:])
        elif line.startswith('cfn='):
            cfn = name(fns, line[4:])
        elif line.startswith(('cfl=', 'cfi=', 'cob=', 'ob=')):
            if line.startswith(('cfl=', 'cfi=')):
                name(files, line[4:])
        elif line.startswith('calls='):
            pending_calls = int(line[6:].split()[0])
        elif line and (line[0].isdigit() or line[0] in '+-*'):
            parts = line.split()
            ir = int(parts[1]) if len(parts) > 1 else 0
            if pending_calls is not None:
                if cfn and ENTRY.match(cfn) and not ENTRY.match(cur_fn or ''):
                    incl[cfn] = incl.get(cfn, 0) + ir
                    calls[cfn] = calls.get(cfn, 0) + pending_calls
                pending_calls = None
            else:
                key = (cur_file or '', cur_fn or '')
                excl[key] = excl.get(key, 0) + ir
    return excl, incl, calls

def measure(build, plugin, wl, ops, fn=None):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, 'cg.out')
        pattern = re.search(r'^pattern:\s*(\S+)', open(wl).read(), re.M).group(1)
        cmd = ['valgrind', '--tool=callgrind', '--trace-children=yes',
               '--callgrind-out-file=' + out, '--toggle-collect=' + (fn or '%s_step' % pattern),
               'env', 'LD_PRELOAD=' + plugin, os.path.join(build, 'membench'), 'trial',
               '--workload', wl, '--plugin', plugin, '--ops', str(ops), '--warmup', '0',
               '--threads', '1', '--samples', '2']
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            sys.exit('%s: trial failed:\n%s' % (wl, r.stderr[-2000:]))
        excl, incl, calls = parse(out)
    total = sum(excl.values())
    alloc = sum(incl.values())
    objects = sum(v for (f, fn), v in excl.items()
                  if f.endswith('kernels.h') or re.match(r'__(memmove|memcpy|memset)', fn))
    acct = sum(v for (f, fn), v in excl.items() if f.endswith(('pattern.h', 'opstats.c')))
    ncalls = sum(calls.values())
    kernel = total - alloc - objects - acct
    return dict(workload=os.path.basename(wl), ops=ops, total=total, alloc=alloc,
                objects=objects, kernel=kernel, acct=acct, calls=ncalls)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default='build')
    ap.add_argument('--ops', type=int, default=0, help='ops per trial (default: by workload)')
    ap.add_argument('workloads', nargs='+')
    a = ap.parse_args()
    plugin = os.path.abspath(os.path.join(a.build, 'plugins', 'mb-system.so'))
    print('| workload | ops | allocator calls/op | allocator Ir/call | accounting Ir/call '
          '| kernel Ir/op | kernel Ir/allocator call | objects Ir/op |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for wl in a.workloads:
        ops = a.ops or (2000 if 'slice' in wl else 20000 if 'request' in wl else 100000)
        m = measure(a.build, plugin, wl, ops, 'timed_replay')
        if m['total'] == 0: # not taped: the step is the measured window
            m = measure(a.build, plugin, wl, ops)
        c = max(m['calls'], 1)
        print('| %s | %d | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f |' % (
            m['workload'], ops, c / ops, m['alloc'] / c, m['acct'] / c, m['kernel'] / ops,
            m['kernel'] / c, m['objects'] / ops))

if __name__ == '__main__':
    main()
