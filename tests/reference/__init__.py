"""Plain NumPy oracles the numba kernels are checked against (not shipped)."""
