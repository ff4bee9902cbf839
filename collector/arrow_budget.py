"""What an Arrow IPC body would decode to, read from its message metadata alone.

A 9 KB zstd stream can declare 20 million rows; libarrow allocates what the
metadata declares before it decompresses. So before anything decodes, this walks
the IPC messages (the stream's sequence, or the file footer's blocks, which are
what a file reader follows) and adds up each batch's rows and the size of every
buffer once decoded: a compressed buffer starts with its uncompressed length;
dictionary batches count like record batches. ``read_arrow`` refuses a body whose
sum passes the collector's limits and checks the decoded batches again as it goes.

The metadata is a flatbuffer; the few fields needed are read by hand below
(Arrow's ``Message.fbs``, ``File.fbs``), every read bounds-checked.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from inferwatch.collector.errors import FormatError

_CONTINUATION = -1
_DICTIONARY_BATCH, _RECORD_BATCH = 2, 3
_FILE_MAGIC = b"ARROW1"


@dataclass(frozen=True)
class IpcSize:
    """Rows of the record batches and decoded bytes of every batch, dictionaries included."""

    rows: int
    decoded_bytes: int


class _Flat:
    """Bounds-checked reads of a flatbuffer table's fields."""

    def __init__(self, buf: bytes | memoryview, table: int) -> None:
        self.buf, self.table = buf, table
        vtable = table - self._i32(table)
        self.vtable, self.vsize = vtable, self._u16(vtable)

    @classmethod
    def root(cls, buf: bytes | memoryview) -> _Flat:
        return cls(buf, struct.unpack_from("<I", buf, 0)[0])

    def _i32(self, at: int) -> int:
        return int(struct.unpack_from("<i", self.buf, at)[0])

    def _u16(self, at: int) -> int:
        return int(struct.unpack_from("<H", self.buf, at)[0])

    def _field(self, index: int) -> int:
        slot = 4 + 2 * index
        return self._u16(self.vtable + slot) if slot < self.vsize else 0

    def scalar(self, index: int, fmt: str, default: int = 0) -> int:
        off = self._field(index)
        return int(struct.unpack_from("<" + fmt, self.buf, self.table + off)[0]) if off else default

    def _target(self, index: int) -> int | None:
        off = self._field(index)
        if not off:
            return None
        at = self.table + off
        return at + int(struct.unpack_from("<I", self.buf, at)[0])

    def table_at(self, index: int) -> _Flat | None:
        target = self._target(index)
        return None if target is None else _Flat(self.buf, target)

    def structs(self, index: int, fmt: str) -> list[tuple[int, ...]]:
        target = self._target(index)
        if target is None:
            return []
        count = int(struct.unpack_from("<I", self.buf, target)[0])
        size = struct.calcsize("<" + fmt)
        if target + 4 + count * size > len(self.buf):
            raise struct.error("vector runs past the buffer")
        return [
            struct.unpack_from("<" + fmt, self.buf, target + 4 + i * size) for i in range(count)
        ]


def ipc_size(body: bytes, *, stream: bool) -> IpcSize:
    """Rows and decoded bytes an IPC stream or file declares; 400 when it cannot be read."""
    try:
        return _stream_size(body, 0) if stream else _file_size(body)
    except (struct.error, IndexError, ValueError) as exc:
        kind = "stream" if stream else "file"
        raise FormatError(f"body is not a valid Arrow IPC {kind}: unreadable metadata") from exc


def _stream_size(body: bytes, start: int) -> IpcSize:
    rows = decoded = 0
    at = start
    while at + 4 <= len(body):
        length, at = _message_length(body, at)
        if length == 0:
            break
        message = _Flat.root(memoryview(body)[at : at + length])
        at += length
        body_length = message.scalar(3, "q")
        if body_length < 0 or at + body_length > len(body):
            raise ValueError("message body runs past the end")
        batch_rows, batch_bytes = _batch(message, body, at)
        rows, decoded = rows + batch_rows, decoded + batch_bytes
        at += body_length
    return IpcSize(rows, decoded)


def _message_length(body: bytes, at: int) -> tuple[int, int]:
    length = int(struct.unpack_from("<i", body, at)[0])
    at += 4
    if length == _CONTINUATION:
        length = int(struct.unpack_from("<i", body, at)[0])
        at += 4
    if length < 0 or at + length > len(body):
        raise ValueError("message metadata runs past the end")
    return length, at


def _file_size(body: bytes) -> IpcSize:
    if len(body) < 18 or not body.startswith(_FILE_MAGIC) or not body.endswith(_FILE_MAGIC):
        raise ValueError("no Arrow file magic")
    footer_length = int(struct.unpack_from("<i", body, len(body) - 10)[0])
    footer_start = len(body) - 10 - footer_length
    if footer_length <= 0 or footer_start < 8:
        raise ValueError("bad footer length")
    footer = _Flat.root(memoryview(body)[footer_start : len(body) - 10])
    rows = decoded = 0
    for index, counts_rows in ((2, False), (3, True)):  # dictionaries, recordBatches
        for offset, meta_length, _pad, body_length in footer.structs(index, "qiiq"):
            if offset < 0 or meta_length <= 0 or body_length < 0:
                raise ValueError("bad block")
            length, at = _message_length(body, offset)
            message = _Flat.root(memoryview(body)[at : at + length])
            data_at = offset + meta_length
            if data_at + body_length > len(body):
                raise ValueError("block body runs past the end")
            batch_rows, batch_bytes = _batch(message, body, data_at)
            rows += batch_rows if counts_rows else 0
            decoded += batch_bytes
    return IpcSize(rows, decoded)


def _batch(message: _Flat, body: bytes, body_at: int) -> tuple[int, int]:
    """(rows, decoded bytes) of a record or dictionary batch message; (0, 0) otherwise."""
    kind = message.scalar(1, "B")
    header = message.table_at(2)
    if header is None or kind not in (_DICTIONARY_BATCH, _RECORD_BATCH):
        return 0, 0
    batch = header.table_at(1) if kind == _DICTIONARY_BATCH else header
    if batch is None:
        return 0, 0
    rows = batch.scalar(0, "q")
    compressed = batch.table_at(3) is not None
    decoded = 0
    for offset, length in batch.structs(2, "qq"):
        if offset < 0 or length < 0:
            raise ValueError("negative buffer")
        if compressed and length >= 8:
            plain = int(struct.unpack_from("<q", body, body_at + offset)[0])
            decoded += length - 8 if plain == -1 else plain
        else:
            decoded += length
    if rows < 0 or decoded < 0:
        raise ValueError("negative size")
    return (rows if kind == _RECORD_BATCH else 0), decoded
