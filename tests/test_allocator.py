"""Training and bulk scoring keep freed memory for reuse (glibc's malloc), then give it back."""

import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes
from lorasent_tui.core.allocator import reuse_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = MallInfo2

def mapped_for(size):
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    grew = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return grew

with reuse_freed_memory() as applied:
    with reuse_freed_memory():  # scoring inside a run
        pass
    inside = mapped_for(16 << 20)
print(applied, inside, mapped_for(16 << 20))
"""


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_blocks_of_a_few_mb_come_from_the_heap_only_while_in_use():
    # A fresh process: glibc's thresholds at their defaults, not raised by earlier tests.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    applied, inside, after = out.stdout.split()
    assert applied == "True"
    # Inside, a 16 MB block is carved from the heap (reused when freed, no page faults), also
    # after a nested user left; after the last, the default is back: such a block is mapped
    # from the kernel and unmapped when freed.
    assert int(inside) == 0
    assert int(after) >= 16 << 20
