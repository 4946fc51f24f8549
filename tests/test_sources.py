import hashlib
import http.server
import socket
import threading

import pytest

from llama_course.data import sources

TEXT = "Once upon a time there was a tiny model.\n从前有一个小模型。\n"


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 that serves TEXT at /story.txt, 404 elsewhere, and counts requests."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path != "/story.txt":
                self.send_error(404)
                return
            body = TEXT.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def test_download_once_then_from_cache(server, tmp_path):
    base, hits = server
    assert sources.load_text(f"{base}/story.txt", cache=tmp_path) == TEXT
    assert sources.load_text(f"{base}/story.txt", cache=tmp_path) == TEXT
    assert hits == ["/story.txt"]
    assert len(list((tmp_path / "downloads").iterdir())) == 1


def test_download_sha256_ok_and_mismatch(server, tmp_path):
    base, _ = server
    good = hashlib.sha256(TEXT.encode()).hexdigest()
    assert sources.load_text(f"{base}/story.txt", sha256=good.upper(), cache=tmp_path / "a") == TEXT
    with pytest.raises(ValueError, match=f"expected {'0' * 64}, got {good}"):
        sources.load_text(f"{base}/story.txt", sha256="0" * 64, cache=tmp_path / "b")
    assert list((tmp_path / "b" / "downloads").iterdir()) == []
    with pytest.raises(ValueError, match="64 hexadecimal digits"):
        sources.load_text(f"{base}/story.txt", sha256="abc", cache=tmp_path / "b")


def test_http_404_is_a_clear_error(server, tmp_path):
    base, _ = server
    with pytest.raises(ConnectionError, match="HTTP 404") as err:
        sources.load_text(f"{base}/missing.txt", cache=tmp_path)
    assert err.value.__cause__ is None and err.value.__context__ is None
    assert not (tmp_path / "downloads").exists() or not list((tmp_path / "downloads").iterdir())


def test_unreachable_url_says_the_course_works_offline(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago and has nobody listening now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectionError, match="could not download") as err:
        sources.load_text(f"http://127.0.0.1:{port}/story.txt", cache=tmp_path)
    message = str(err.value)
    assert "works offline" in message and "load_text('my_text.txt')" in message


def test_local_file_and_sha256(tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes(b"line one\r\nline two\n")
    assert sources.load_text(path) == "line one\nline two\n"
    assert sources.load_text(str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest()) == "line one\nline two\n"
    with pytest.raises(ValueError, match="sha256 mismatch"):
        sources.load_text(path, sha256="f" * 64)


def test_folder_joins_text_and_markdown_files_in_sorted_order(tmp_path):
    (tmp_path / "b.md").write_text("second")
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "c.csv").write_text("ignored")
    assert sources.load_text(tmp_path) == "first\n\nsecond"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"has no \.txt or \.md files"):
        sources.load_text(empty)


def test_missing_empty_binary_and_badly_encoded_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        sources.load_text(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        sources.load_text(tmp_path / "empty.txt")
    (tmp_path / "model.bin").write_bytes(b"\x89PNG\x00\x00\x01")
    with pytest.raises(ValueError, match="looks binary"):
        sources.load_text(tmp_path / "model.bin")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.txt is not valid utf-8: byte 0xe9 at offset 3.*encoding="):
        sources.load_text(latin)
    assert sources.load_text(latin, encoding="latin-1") == "café au lait"
    with pytest.raises(ValueError, match="unknown encoding"):
        sources.load_text(latin, encoding="no-such-codec")


def test_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LLAMA_COURSE_CACHE", str(tmp_path / "cache"))
    assert sources.cache_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()
    monkeypatch.delenv("LLAMA_COURSE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert sources.cache_dir() == tmp_path / "home" / ".cache" / "llama-course"


def test_downloads_go_to_the_default_cache(server, monkeypatch, tmp_path):
    base, _ = server
    monkeypatch.setenv("LLAMA_COURSE_CACHE", str(tmp_path))
    assert sources.load_text(f"{base}/story.txt") == TEXT
    assert len(list((tmp_path / "downloads").glob("*.txt"))) == 1
