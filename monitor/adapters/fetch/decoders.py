"""Bounded decoders for gzip, deflate and br: a compressed bomb stops near the size cap."""


from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

try:  # optional: br is only offered when its output can be bounded (brotli >= 1.2)
    import brotli as _brotli
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None


_BROTLI = _brotli is not None and hasattr(getattr(_brotli, "Decompressor", None), "can_accept_more_data")


_ENCODINGS = ("gzip", "deflate", "br") if _BROTLI else ("gzip", "deflate")


_CHUNK = 64 * 1024  # most decompressed bytes produced per step, so a bomb stops near the cap


_END = b""  # marks the end of the raw stream, so decoders can flush


def _then_end(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if chunk:
            yield chunk
    yield _END


def _decoder(coding: str):
    """A function from raw chunks (``b""`` at the end) to decoded pieces, or None."""
    if coding == "identity":
        return lambda raw: (raw,) if raw else ()
    if coding in ("gzip", "x-gzip"):
        return _ZlibDecoder(zlib.MAX_WBITS | 16).decode
    if coding == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True).decode
    if coding == "br" and _BROTLI:
        return _BrotliDecoder().decode
    return None


class _ZlibDecoder:
    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._wbits = wbits
        self._raw_fallback = raw_fallback  # "deflate" is sometimes sent without the zlib header
        self._started = False
        self._d = zlib.decompressobj(wbits)

    def decode(self, raw: bytes) -> Iterator[bytes]:
        if not raw:
            try:
                yield self._d.flush()
            except zlib.error as e:
                raise httpx.DecodingError(f"bad {self._name} data: {e}") from e
            return
        if not self._started and self._raw_fallback:
            self._started = True
            try:
                probe = zlib.decompressobj(self._wbits)
                probe.decompress(raw[:64], 1)
            except zlib.error:
                self._wbits = -zlib.MAX_WBITS
                self._d = zlib.decompressobj(self._wbits)
        data = raw
        while data:
            try:
                out = self._d.decompress(data, _CHUNK)
            except zlib.error as e:
                raise httpx.DecodingError(f"bad {self._name} data: {e}") from e
            if out:
                yield out
            data = self._d.unconsumed_tail
            if not data and self._d.eof and self._d.unused_data:
                data = self._d.unused_data  # another gzip member follows
                self._d = zlib.decompressobj(self._wbits)

    @property
    def _name(self) -> str:
        return "gzip" if self._wbits > zlib.MAX_WBITS else "deflate"


class _BrotliDecoder:
    def __init__(self) -> None:
        self._d = _brotli.Decompressor()

    def decode(self, raw: bytes) -> Iterator[bytes]:
        if not raw:
            return
        try:
            out = self._d.process(raw, output_buffer_limit=_CHUNK)
            # Drain what that input still holds, one bounded piece at a time.
            while out:
                yield out
                out = b"" if self._d.is_finished() else self._d.process(b"", output_buffer_limit=_CHUNK)
        except _brotli.error as e:
            raise httpx.DecodingError(f"bad br data: {e}") from e
