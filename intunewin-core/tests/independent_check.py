#!/usr/bin/env python3
"""Independent reader of .intunewin packages, sharing no code with the intunewin library.

Usage: independent_check.py PACKAGE DEST_DIR

Opens the outer zip with zipfile, parses Detection.xml with xml.etree, checks the HMAC-SHA256
over IV || ciphertext (FORMAT.md §3.1) and the blob's MAC and IV fields, decrypts AES-256-CBC
with the `cryptography` package, strips PKCS#7 strictly, checks SHA-256 (FileDigest) and
UnencryptedContentSize, then extracts the inner zip with zipfile into DEST_DIR (which must not
exist), restoring each entry's DOS time as local time. Prints a JSON summary on stdout; exits 1
with a message on stderr when anything is wrong.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CONTENTS = "IntuneWinPackage/Contents/"
DETECTION = "IntuneWinPackage/Metadata/Detection.xml"
CHUNK = 1 << 20


def fail(msg):
    print(f"independent_check: {msg}", file=sys.stderr)
    sys.exit(1)


def b64(text, length, what):
    raw = base64.b64decode(text.strip(), validate=True)
    if len(raw) != length:
        fail(f"{what} decodes to {len(raw)} bytes, expected {length}")
    return raw


def read_detection(outer):
    root = ET.fromstring(outer.read(DETECTION))
    if root.tag != "ApplicationInfo":
        fail(f"root element is {root.tag}")
    enc = root.find("EncryptionInfo")
    if enc is None:
        fail("no EncryptionInfo")
    info = {
        "toolVersion": root.get("ToolVersion"),
        "name": root.findtext("Name"),
        "fileName": root.findtext("FileName"),
        "setupFile": root.findtext("SetupFile"),
        "unencryptedContentSize": int(root.findtext("UnencryptedContentSize")),
    }
    if enc.findtext("ProfileIdentifier") != "ProfileVersion1":
        fail("ProfileIdentifier is not ProfileVersion1")
    if enc.findtext("FileDigestAlgorithm") != "SHA256":
        fail("FileDigestAlgorithm is not SHA256")
    keys = {
        "encryption_key": b64(enc.findtext("EncryptionKey"), 32, "EncryptionKey"),
        "mac_key": b64(enc.findtext("MacKey"), 32, "MacKey"),
        "iv": b64(enc.findtext("InitializationVector"), 16, "InitializationVector"),
        "mac": b64(enc.findtext("Mac"), 32, "Mac"),
        "digest": b64(enc.findtext("FileDigest"), 32, "FileDigest"),
    }
    return info, keys


def check_mac(outer, name, keys):
    """First pass: HMAC over IV || ciphertext, compared in constant time."""
    mac = hmac.new(keys["mac_key"], digestmod=hashlib.sha256)
    with outer.open(name) as blob:
        header = blob.read(48)
        if len(header) != 48:
            fail("blob shorter than 48 bytes")
        if not hmac.compare_digest(header[:32], keys["mac"]):
            fail("the blob's MAC differs from Detection.xml's Mac")
        if header[32:48] != keys["iv"]:
            fail("the blob's IV differs from InitializationVector")
        mac.update(header[32:48])
        while chunk := blob.read(CHUNK):
            mac.update(chunk)
    if not hmac.compare_digest(mac.digest(), keys["mac"]):
        fail("HMAC mismatch")


def decrypt_to(outer, name, keys, out):
    """Second pass: decrypt, strip PKCS#7 strictly, hash; returns (sha256, length)."""
    decryptor = Cipher(algorithms.AES(keys["encryption_key"]), modes.CBC(keys["iv"])).decryptor()
    digest = hashlib.sha256()
    held = b""  # the last block, kept back until we know it is the padded one
    length = 0
    with outer.open(name) as blob:
        blob.read(48)
        while chunk := blob.read(CHUNK):
            held += decryptor.update(chunk)
            if len(held) > 16:
                body, held = held[:-16], held[-16:]
                digest.update(body)
                out.write(body)
                length += len(body)
    held += decryptor.finalize()
    if len(held) != 16:
        fail("ciphertext is not a whole number of blocks")
    pad = held[-1]
    if not 1 <= pad <= 16 or held[-pad:] != bytes([pad]) * pad:
        fail("bad PKCS#7 padding")
    body = held[:-pad]
    digest.update(body)
    out.write(body)
    return digest.digest(), length + len(body)


def extract(inner_path, dest):
    entries = []
    with zipfile.ZipFile(inner_path) as inner:
        bad = inner.testzip()
        if bad is not None:
            fail(f"CRC error in inner entry {bad}")
        infos = inner.infolist()
        inner.extractall(dest)
    # Directory times last: creating files inside a folder changes its time.
    for info in sorted(infos, key=lambda i: i.is_dir()):
        stamp = time.mktime(info.date_time + (0, 0, -1))
        os.utime(os.path.join(dest, info.filename), (stamp, stamp))
        entries.append(
            {
                "name": info.filename,
                "isDir": info.is_dir(),
                "size": info.file_size,
                "compressedSize": info.compress_size,
                "method": info.compress_type,
                "flags": info.flag_bits,
                "crc": info.CRC,
            }
        )
    return entries


def main():
    if len(sys.argv) != 3:
        fail("usage: independent_check.py PACKAGE DEST_DIR")
    package, dest = sys.argv[1], sys.argv[2]
    if os.path.exists(dest):
        fail(f"{dest} exists")
    with zipfile.ZipFile(package) as outer:
        names = outer.namelist()
        methods = [outer.getinfo(name).compress_type for name in names]
        info, keys = read_detection(outer)
        content = CONTENTS + info["fileName"]
        if content not in names:
            fail(f"no entry {content}")
        blob_len = outer.getinfo(content).file_size
        n = info["unencryptedContentSize"]
        if blob_len != 48 + 16 * (n // 16 + 1):
            fail(f"blob is {blob_len} bytes for UnencryptedContentSize {n}")
        check_mac(outer, content, keys)
        with tempfile.NamedTemporaryFile(suffix=".zip") as plain:
            digest, length = decrypt_to(outer, content, keys, plain)
            plain.flush()
            if length != n:
                fail(f"plaintext is {length} bytes, UnencryptedContentSize says {n}")
            if not hmac.compare_digest(digest, keys["digest"]):
                fail("FileDigest mismatch")
            entries = extract(plain.name, dest)
    summary = dict(info)
    summary.update(
        {
            "outerEntries": names,
            "outerMethods": methods,
            "encryptedContentSize": blob_len,
            "macOk": True,
            "fileDigestOk": True,
            "entries": entries,
        }
    )
    json.dump(summary, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    try:
        main()
    except (zipfile.BadZipFile, ET.ParseError, ValueError, KeyError, OSError) as e:
        fail(f"{type(e).__name__}: {e}")
