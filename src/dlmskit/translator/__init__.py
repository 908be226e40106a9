"""dlmskit.translator: DLMS/COSEM traces decoded for people, and translator XML encoded back to APDUs.

A meter engineer pastes hex from a trace (HDLC frames, wrapper frames or bare APDUs, possibly ciphered)
and gets it decoded to text, XML in the layout of the widely used Gurux translator, or JSON::

    from dlmskit.translator import parse_hex_text, translate, to_text

    translation = translate(parse_hex_text(pasted), keys=(block_cipher_key, authentication_key))
    print(to_text(translation))

With keys, ciphered APDUs are deciphered and their GCM tag verified; without, their security header is
shown. Every trace is checked for invocation counters used twice (GCM nonce reuse) or going down.
:func:`encode_xml` turns translator XML (ours or Gurux's) back into APDU bytes.
"""

from __future__ import annotations

from dlmskit.translator.encoder import encode_node, encode_xml
from dlmskit.translator.hexinput import Direction, HexInputError, TraceItem, parse_hex_text
from dlmskit.translator.pcap import read_pcap
from dlmskit.translator.render import node_to_dict, nodes_to_xml, to_json, to_text, to_xml
from dlmskit.translator.translate import TranslatedItem, Translation, Translator, translate
from dlmskit.translator.tree import Node
from dlmskit.translator.xmlparse import parse_xml

__all__ = [
    "Direction",
    "HexInputError",
    "Node",
    "TraceItem",
    "TranslatedItem",
    "Translation",
    "Translator",
    "encode_node",
    "encode_xml",
    "node_to_dict",
    "nodes_to_xml",
    "parse_hex_text",
    "parse_xml",
    "read_pcap",
    "to_json",
    "to_text",
    "to_xml",
    "translate",
]
