"""Hostile input, for any test that renders or stores what users write.

- `XSS_PAYLOADS`: markup and script in the shapes that have got past filters before. A renderer
  (API JSON now; console, portal and mail pages as they come) must show them as text.
- `active_content(html)`: what in an HTML document or fragment would run in a browser — script
  elements, event handler attributes, `javascript:`/`data:text/html` URLs, frames, objects,
  `<base>`, meta refresh, `srcdoc`. A page test parses its page and asserts that every finding
  is one the page's own template put there (usually: none).
- `HOSTILE_FILENAMES` and `hostile_files()`: uploads with path traversal names, empty and
  oversized content, zip bombs and content that lies about its type.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser

XSS_PAYLOADS: list[str] = [
    "<script>alert('xss-1')</script>",
    "<SCRIPT SRC=//xss.example.com/x.js></SCRIPT>",
    '"><script>alert("xss-2")</script>',
    "'><img src=x onerror=alert('xss-3')>",
    "<img src=x onerror=alert`xss-4`>",
    "<svg onload=alert('xss-5')>",
    "<svg><script>alert('xss-6')</script></svg>",
    "<iframe src=\"javascript:alert('xss-7')\"></iframe>",
    "<a href=\"javascript:alert('xss-8')\">click</a>",
    '<a href="JaVaScRiPt:alert(9)">click</a>',
    '<a href="jav&#x09;ascript:alert(10)">click</a>',
    '<a href="&#106;avascript:alert(11)">click</a>',
    '<a href=" javascript:alert(12)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxMyk8L3NjcmlwdD4=">x</a>',
    "<body onload=alert('xss-14')>",
    "<div style=\"background:url('javascript:alert(15)')\">x</div>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert("xss-16")>',
    "<noscript><p title=\"</noscript><img src=x onerror=alert('xss-17')>\">",
    '<form action="javascript:alert(18)"><button>go</button></form>',
    '<button formaction="javascript:alert(19)">go</button>',
    "<object data=\"javascript:alert('xss-20')\"></object>",
    "<embed src=\"javascript:alert('xss-21')\">",
    "<base href=\"javascript:alert('xss-22')//\">",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'xss-23\')">',
    '<iframe srcdoc="<script>alert(24)</script>"></iframe>',
    "<details open ontoggle=alert('xss-25')>",
    "<input autofocus onfocus=alert('xss-26')>",
    "<video><source onerror=\"alert('xss-27')\"></video>",
    "<<script>alert('xss-28');//<</script>",
    "<scr<script>ipt>alert('xss-29')</scr</script>ipt>",
    "\"; alert('xss-30'); //",
    "{{constructor.constructor('alert(31)')()}}",
    "${alert('xss-32')}",
    "<!--<img src=\"--><img src=x onerror=alert('xss-33')//\">",
    "<xmp><p title=\"</xmp><svg/onload=alert('xss-34')>\">",
    "\u003cscript\u003ealert('xss-35')\u003c/script\u003e",
    "<a href=\"vbscript:msgbox('xss-36')\">x</a>",
    "<link rel=stylesheet href=\"javascript:alert('xss-37')\">",
    "<style>@import 'javascript:alert(38)';</style>",
    "<template><script>alert('xss-39')</script></template>",
]

_RUNNING_ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "srcset"}
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:image/svg")


def _scheme_of(value: str) -> str:
    """A URL's start as a browser reads it: whitespace and control characters dropped."""
    return "".join(c for c in value if c > " ").lower()


class _ActiveContent(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _RUNNING_ELEMENTS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            elif name == "srcdoc":
                self.found.append(f"<{tag} srcdoc>")
            elif name in _URL_ATTRIBUTES and _scheme_of(value).startswith(_BAD_SCHEMES):
                self.found.append(f"<{tag} {name}={value[:30]}>")
            elif name == "style" and "javascript:" in _scheme_of(value):
                self.found.append(f"<{tag} style>")
            elif tag == "meta" and name == "http-equiv" and value.lower() == "refresh":
                self.found.append("<meta refresh>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def active_content(html: str) -> list[str]:
    """What in `html` a browser would run; empty when it is inert."""
    parser = _ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found


# --- uploads -----------------------------------------------------------------------------------

HOSTILE_FILENAMES: list[str] = [
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "/etc/shadow",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "....//....//etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%c0%af..%c0%afetc%c0%afpasswd",
    "..",
    ".",
    "",
    " ",
    "invoice.pdf\u0000.exe",
    "report\u202egpj.exe",  # right-to-left override
    "CON",
    "aux.txt",
    ".htaccess",
    "~/.ssh/authorized_keys",
    "<script>alert('name')</script>.txt",
    '"><img src=x onerror=alert(1)>.png',
    "name\r\nContent-Type: text/html\r\n\r\n<script>.txt",
    "a" * 1000 + ".txt",
    "\u00e9\u0301" * 50 + ".txt",
]


@dataclass(frozen=True)
class HostileFile:
    name: str
    filename: str
    claimed_type: str
    content: bytes
    #: The status a well-behaved server answers: 201 stored (inert), or a 4xx refusal.
    refused: bool = False


def _zip_bomb(expanded_bytes: int) -> bytes:
    """A zip whose one member expands to `expanded_bytes` zeros (about 1000:1)."""
    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    with archive, archive.open("zeros.bin", "w", force_zip64=True) as member:
        chunk = bytes(1024 * 1024)
        for _ in range(expanded_bytes // len(chunk)):
            member.write(chunk)
    return buffer.getvalue()


def _nested_zip(inner: bytes, depth: int) -> bytes:
    for level in range(depth):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as layer:
            for copy in range(4):
                layer.writestr(f"layer{level}-{copy}.zip", inner)
        inner = buffer.getvalue()
    return inner


PNG_HEADER = bytes.fromhex("89504e470d0a1a0a0000000d49484452")


def hostile_files(oversize_bytes: int) -> list[HostileFile]:
    """Files that try to be stored, rendered or expanded as something else."""
    bomb = _zip_bomb(64 * 1024 * 1024)
    return [
        HostileFile("empty", "empty.txt", "text/plain", b"", refused=True),
        HostileFile("oversize", "big.bin", "application/octet-stream", bytes(oversize_bytes), True),
        HostileFile("zip bomb", "photos.zip", "application/zip", bomb),
        HostileFile("nested zip bomb", "archive.zip", "application/zip", _nested_zip(bomb, 2)),
        HostileFile(
            "html as png", "cat.png", "image/png", b"<html><script>alert(1)</script></html>"
        ),
        HostileFile(
            "svg as png",
            "logo.png",
            "image/png",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
            b"<script>alert(2)</script></svg>",
        ),
        HostileFile(
            "png with html tail",
            "photo.png",
            "image/png",
            PNG_HEADER + b"\x00" * 64 + b"<script>alert(3)</script>",
        ),
        HostileFile("gif/js polyglot", "anim.gif", "image/gif", b"GIF89a/*\x00\x00*/=alert(4);//"),
        HostileFile(
            "pdf with javascript",
            "statement.pdf",
            "application/pdf",
            b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(5))>>>>endobj\n%%EOF",
        ),
        HostileFile(
            "xhtml as text",
            "notes.txt",
            "text/plain",
            b'<?xml version="1.0"?><html '
            b'xmlns="http://www.w3.org/1999/xhtml"><script>alert(6)</script></html>',
        ),
        HostileFile(
            "exe as text", "readme.txt", "text/plain", b"MZ\x90\x00\x03" + bytes(58) + b"PE\x00\x00"
        ),
        HostileFile("html declared html", "page.html", "text/html", b"<script>alert(7)</script>"),
    ]
