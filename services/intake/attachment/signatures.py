"""What a photo's or a recording's first bytes say it is (magic numbers), so a finished upload is stored
only when its bytes are the type its Upload-Metadata declares: a "photo" that is really a web page, a
program or a document is discarded. A declared type with no signature here is taken as declared (an
operator may allow more types in ATTACHMENT_TYPES)."""

from __future__ import annotations

from collections.abc import Callable

HEAD_BYTES = 32  # enough for every signature below

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"})


def _riff(kind: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == kind


def _iso_media(brands: frozenset[bytes] | None) -> Callable[[bytes], bool]:
    """An ISO base media file (MP4, M4A, HEIF): a leading `ftyp` box and, where given, one of its brands."""
    return lambda head: head[4:8] == b"ftyp" and (brands is None or head[8:12] in brands)


def _mpeg_audio(head: bytes) -> bool:
    """MP3: an ID3v2 tag, or an MPEG audio frame sync (11 set bits, not the ADTS layer of AAC)."""
    frame_sync = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0
    return head[:3] == b"ID3" or frame_sync


def _aac(head: bytes) -> bool:
    """AAC as ADTS frames (sync 0xFFF, layer 0), as ADIF, or inside an MP4 container (phones' .m4a/.aac)."""
    adts = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
    return adts or head[:4] == b"ADIF" or _iso_media(None)(head)


SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/jpeg": lambda head: head[:3] == b"\xff\xd8\xff",
    "image/png": lambda head: head[:8] == b"\x89PNG\r\n\x1a\n",
    "image/gif": lambda head: head[:6] in (b"GIF87a", b"GIF89a"),
    "image/webp": _riff(b"WEBP"),
    "image/heic": _iso_media(_HEIF_BRANDS),
    "image/heif": _iso_media(_HEIF_BRANDS),
    "audio/mpeg": _mpeg_audio,
    "audio/mp4": _iso_media(None),
    "audio/aac": _aac,
    "audio/amr": lambda head: head[:5] == b"#!AMR",
    "audio/wav": _riff(b"WAVE"),
    "audio/ogg": lambda head: head[:4] == b"OggS",
    "audio/webm": lambda head: head[:4] == b"\x1a\x45\xdf\xa3",
    "application/pdf": lambda head: head[:5] == b"%PDF-",
}


def matches(filetype: str, head: bytes) -> bool:
    """Do a file's first bytes fit its declared type?"""
    check = SIGNATURES.get(filetype)
    return check is None or bool(check(head))
