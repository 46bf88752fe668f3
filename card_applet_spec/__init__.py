"""The KHBS card contract: constants, data formats, test vectors and the reference card."""
