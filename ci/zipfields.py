#!/usr/bin/env python3
"""Prints what two .intunewin packages from the same source must share, for ci/windows.sh.

The outer zip's fields of every entry (times left out: they are the packing moment) and
Detection.xml with the per-package random values (keys, IV, MAC, digest) masked. Two packages
of the same source made by the Linux and Windows binaries must print the same lines.
"""
import re
import sys
import zipfile

RANDOM_FIELDS = ("EncryptionKey", "MacKey", "InitializationVector", "Mac", "FileDigest")


def main(path):
    with zipfile.ZipFile(path) as z:
        for i in z.infolist():
            print(
                f"entry {i.filename!r} method={i.compress_type} flags={i.flag_bits:#06x} "
                f"made-by={i.create_system}/{i.create_version} needs={i.extract_version} "
                f"external={i.external_attr:#010x} internal={i.internal_attr} "
                f"extra={i.extra.hex()} comment={i.comment!r} size={i.file_size}"
            )
        xml = z.read("IntuneWinPackage/Metadata/Detection.xml").decode("utf-8-sig")
    for field in RANDOM_FIELDS:
        xml = re.sub(f"<{field}>[^<]*</{field}>", f"<{field}>*</{field}>", xml)
    print(xml)


if __name__ == "__main__":
    main(sys.argv[1])
