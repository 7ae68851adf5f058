"""The threads the BLAS library loaded by PyTorch uses for a GEMM, for the bench JSON.

torch.get_num_threads() is PyTorch's own intra-op pool; a PyTorch linked against OpenBLAS
(Debian's python3-torch) also runs every matrix product on OpenBLAS's threads, which default to
every core (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS change it). On this 2-core machine
torch.get_num_threads() is 1 while OpenBLAS uses 2.
"""
import ctypes


def _openblas():
    """The OpenBLAS library loaded in this process (by torch), or None."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "libopenblas" in line}
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_num_threads  # noqa: B018 (the symbol must exist)
            return lib
        except (OSError, AttributeError):
            continue
    return None


def blas_threads():
    """OpenBLAS's thread count in this process, or None when no OpenBLAS is loaded."""
    lib = _openblas()
    return None if lib is None else int(lib.openblas_get_num_threads())


def set_threads(torch, n):
    """n threads for PyTorch's pool and for OpenBLAS's GEMMs alike (torch.set_num_threads alone
    leaves OpenBLAS at its default)."""
    torch.set_num_threads(n)
    lib = _openblas()
    if lib is not None:
        lib.openblas_set_num_threads(n)
