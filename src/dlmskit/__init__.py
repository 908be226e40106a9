"""dlmskit: a DLMS/COSEM (IEC 62056) toolkit."""

__version__ = "0.1.0"
