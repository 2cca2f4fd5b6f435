"""Hand-written CPU kernels for the operations where torch's own are slow, compiled on
first use (see :mod:`.build`)."""
