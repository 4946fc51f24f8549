"""Bring your own text: a local file, a folder of files, or a URL downloaded once into the course cache."""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..files import CourseError, atomic_write

CACHE_ENV = "LLAMA_COURSE_CACHE"
TEXT_SUFFIXES = (".txt", ".md")
DOWNLOAD_TIMEOUT_S = 300  # the whole download, however slowly the server sends it
READ_TIMEOUT_S = 30  # silence from the server before giving up
MAX_DOWNLOAD_BYTES = 200 * 2**20  # far more text than a laptop can train on, far less than memory
CHUNK_BYTES = 2**16


def cache_dir() -> Path:
    """The course's cache folder: ``$LLAMA_COURSE_CACHE`` if set, else ``~/.cache/llama-course``; created here."""
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "llama-course").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_text(
    source: str | Path, sha256: str | None = None, cache: str | Path | None = None, encoding: str = "utf-8",
    timeout_s: float = DOWNLOAD_TIMEOUT_S, max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> str:
    """Read text from a file, from every ``*.txt``/``*.md`` file in a folder (sorted, joined by a blank line),
    or from an http(s) URL, which is downloaded once into ``cache`` (default :func:`cache_dir`).

    A download must finish within ``timeout_s`` seconds and be at most ``max_bytes`` long; raise either for a
    larger text. ``sha256``, if given, is checked against the file's (or the download's) bytes. Windows line ends become
    ``\\n``. Problems raise ``FileNotFoundError``, ``ValueError`` or ``ConnectionError`` with a message
    that says what to do.
    """
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    if isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        path = _download(source, Path(cache) if cache is not None else cache_dir(), timeout_s, max_bytes)
        data = path.read_bytes()
        if sha256 is not None and _digest(data) != sha256:
            path.unlink()
            raise ValueError(f"{source}: sha256 mismatch, expected {sha256}, got {_digest(data)}; download removed")
        return _decode(data, f"{source} (cached as {path})", encoding)
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        if sha256 is not None:
            raise ValueError(f"sha256 checks one file, but {path} is a folder")
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
        if not files:
            raise ValueError(f"folder {path} has no {' or '.join(TEXT_SUFFIXES)} files")
        return "\n\n".join(_decode(f.read_bytes(), str(f), encoding) for f in files)
    data = path.read_bytes()
    if sha256 is not None and _digest(data) != sha256:
        raise ValueError(f"{path}: sha256 mismatch, expected {sha256}, got {_digest(data)}")
    return _decode(data, str(path), encoding)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes, name: str, encoding: str) -> str:
    """Bytes to text, refusing empty, binary and wrongly encoded input with a message naming ``name``."""
    if not data.strip():
        raise ValueError(f"{name} is empty")
    if b"\x00" in data and not encoding.lower().replace("-", "").startswith(("utf16", "utf32")):
        raise ValueError(f"{name} looks binary (it contains NUL bytes), not like a text file")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{name} is not valid {encoding}: byte 0x{data[err.start]:02x} at offset {err.start} cannot be decoded;"
            " if the file uses another encoding, pass it, e.g. encoding='latin-1' or encoding='cp1252'"
        ) from None
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}; try 'utf-8' or 'latin-1'") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def _download(url: str, folder: Path, timeout_s: float, max_bytes: int) -> Path:
    """Fetch ``url`` into ``folder`` once (named by the URL's sha256) and return the cached file."""
    target = folder / "downloads" / f"{_digest(url.encode())}.txt"
    if target.exists():
        return target
    request = urllib.request.Request(url, headers={"User-Agent": "llama-course"})
    try:
        with urllib.request.urlopen(request, timeout=min(READ_TIMEOUT_S, timeout_s)) as response:
            data = _read_limited(url, response, time.monotonic() + timeout_s, max_bytes)
    except urllib.error.HTTPError as err:
        reason = f"the server answered HTTP {err.code} {err.reason}"
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = str(getattr(err, "reason", err)) or type(err).__name__
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(target, lambda tmp: Path(tmp).write_bytes(data))
    raise ConnectionError(
        f"could not download {url} ({reason}). The course itself works offline on its built-in corpus;"
        " to use your own text without a network, save it as a file and pass its path instead,"
        " e.g. load_text('my_text.txt')"
    )


def _read_limited(url: str, response: http.client.HTTPResponse, deadline: float, max_bytes: int) -> bytes:
    """The body, read piece by piece: refused as soon as it is known to exceed ``max_bytes`` or the
    ``deadline`` passes (a server that trickles a byte at a time never times out a single read)."""
    size = response.headers.get("Content-Length", "")
    if size.isdigit() and int(size) > max_bytes:
        raise CourseError(f"{url} is {int(size):,} bytes, more than the download limit of {max_bytes:,} bytes; "
                          "pass max_bytes=... (--max-download-mb) to allow it, or download it yourself")
    pieces, got = [], 0
    while piece := response.read1(CHUNK_BYTES):
        got += len(piece)
        if got > max_bytes:
            raise CourseError(f"{url} sent more than the download limit of {max_bytes:,} bytes; "
                              "pass max_bytes=... (--max-download-mb) to allow it, or download it yourself")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the download took longer than its limit ({got:,} bytes so far); pass "
                               "timeout_s=... (--download-timeout) to wait longer")
        pieces.append(piece)
    return b"".join(pieces)
