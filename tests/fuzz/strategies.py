"""Hypothesis strategies for hostile requests: values, paths, bodies, headers.

Values are bytes wherever the wire allows (non-UTF-8 included) and are
percent-encoded by the request builder, never by the strategy.
"""

import base64
import io
import json
import re
import string
from dataclasses import dataclass, field
from urllib.parse import quote_from_bytes

from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from hypothesis import strategies as st

from certificates.der import integer as der_integer
from certificates.der import tlv
from tests.fuzz import world as W

# --- Values -------------------------------------------------------------------------------------

MIXED_SCRIPTS = (
    "가나다홍길동뷁힣ㄱㅏ"  # Hangul syllables and jamo
    "abcXYZ"
    "дЖя"  # Cyrillic
    "العربية"  # Arabic (right to left)
    "中文漢字"
    "ｱｲｳ１２３４５６"  # half-width katakana, full-width digits (str.isdigit() says yes)
    "٠١٢٣"  # Arabic-Indic digits (isdigit() too)
    "😀👍🏽\u200d\u200b\u202e\u202d\ufeff\u0301\u00ad"  # emoji, zero-width, bidi override, BOM, combining
    "\u00e9\u00df\u0130\u0131"  # case-mapping traps: é ß İ ı
)
CONTROL = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\u2028\u2029"

SPECIAL_TEXT = [
    "",
    " ",
    "\x00",
    "0\x00",
    "a\x00b",
    "%00",
    "null",
    "None",
    "undefined",
    "true",
    "[]",
    "{}",
    "-1",
    "0",
    "-0",
    "00000000",
    "1e309",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x7f",
    "9" * 40,
    "-" + "9" * 40,
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "１２３４",
    "٣٤٥٦",
    "1,000,000원",
    "１,０００원",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "' OR '1'='1' --",
    "{{ 7*7 }}{% debug %}",
    "${jndi:ldap://x}",
    '=HYPERLINK("http://x")',
    "9999-12-31",
    "0001-01-01",
    "0000-00-00",
    "2026-02-30",
    "2026-13-01",
    "-2026-01-01",
    "20260101",
    "2026/01/01",
    "\u202e1202-10-10",
    "hong",
    "HONG",
    "hong\x00",
    "hong ",
    "staff",
    "000000",
    "123456",
    "1234",
    "01012345678",
    "010-1234-5678",
    "901",
    "999",
    "yes",
]

DATES = ["9999-12-31", "0001-01-01", "0000-00-00", "2026-02-30", "2026-13-01", "-2026-01-01", "20260101", "1999-12-31"]

BAD_BASE64 = [
    "=",
    "====",
    "YQ",
    "YQ=",
    "YQ===",
    "Y Q==",
    "YQ==\n",
    "\nYQ==",
    "YQ=\x00=",
    "-_-_",
    "YWJj-_8",
    "YWJj*",
    "ＹＷＪｊ",
    "YWJj\u00a0",
    "A" * 8,
    "%3D%3D",
    "YWJj" * 5000,
]


def _repeat(pair) -> str:
    return pair[0] * pair[1]


def _a_times(n: int) -> bytes:
    return b"A" * n


def _itself(strategy):
    return strategy


def weighted(*choices):
    """(weight, strategy) pairs: pick a strategy in proportion to its weight, then draw
    from it. (st.one_of drops repeated branches and flattens nested ones, so
    listing a strategy n times there does not weigh it.) Shrinks towards the first."""
    return st.sampled_from([strategy for weight, strategy in choices for _ in range(weight)]).flatmap(_itself)


def text_values():
    """Hostile text (str): specials, control and NUL bytes, mixed scripts, lone surrogates."""
    return weighted(
        (3, st.sampled_from(SPECIAL_TEXT)),
        (2, st.text(alphabet=CONTROL + "aZ09-_", max_size=12)),
        (2, st.text(alphabet=MIXED_SCRIPTS + " -_.@", min_size=1, max_size=40)),
        (2, st.text(max_size=24)),  # anything Unicode has, surrogates included
        (1, st.integers(min_value=-(2**80), max_value=2**80).map(str)),
    )


def raw_values():
    """Bytes that are not valid UTF-8."""
    return st.one_of(
        st.binary(max_size=48),
        st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe2\x82", b"\x80abc"]),
    )


def huge_values():
    """Values far larger than any field: 4 KiB to over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)."""
    return st.one_of(
        st.tuples(st.sampled_from(["A", "9", "가", "\x00", "😀", "-"]), st.sampled_from([4097, 70_000])).map(_repeat),
        st.sampled_from([10**5, 2_700_000]).map(_a_times),
    )


TEXT = text_values()
RAW = raw_values()
HUGE = huge_values()
# A hostile value of no particular kind; huge ones are rare (they mostly meet the size limits).
HOSTILE = weighted((12, TEXT), (4, RAW), (1, HUGE))
_CACHE: dict = {}


def cached(key, factory):
    """Build a strategy once per key: strategies built inside every draw made
    data generation the slow part of a case."""
    if key not in _CACHE:
        _CACHE[key] = factory()
    return _CACHE[key]


def encode(value) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


SHA1 = tlv(0x30, tlv(0x06, bytes.fromhex("2b0e03021a")) + b"\x05\x00")
SHA256 = tlv(0x30, tlv(0x06, bytes.fromhex("608648016503040201")) + b"\x05\x00")
NONCE_OID = tlv(0x06, bytes.fromhex("2b0601050507300102"))


def ocsp_request(serials, name_hash: bytes, key_hash: bytes, *, algorithm=SHA1, nonce: bytes | None = None) -> bytes:
    """A DER OCSPRequest (RFC 6960 §4.1.1) for any integers, negative and huge included."""
    requests = b"".join(
        tlv(0x30, tlv(0x30, algorithm + tlv(0x04, name_hash) + tlv(0x04, key_hash) + der_integer(serial))) for serial in serials
    )
    tbs = tlv(0x30, requests)
    if nonce is not None:
        extension = tlv(0x30, NONCE_OID + tlv(0x04, tlv(0x04, nonce)))
        tbs += tlv(0xA2, tlv(0x30, extension))
    return tlv(0x30, tlv(0x30, tbs))


def _ocsp_request(parts) -> bytes:
    serials, hashes, algorithm, nonce = parts
    return ocsp_request(serials, *hashes, algorithm=algorithm, nonce=nonce)


def _sequence(content: bytes) -> bytes:
    return tlv(0x30, content)


@st.composite
def mutated(draw, base):
    """Truncated, extended, a byte flipped, or a length that lies."""
    data = draw(base)
    how = draw(st.integers(0, 6))
    if how == 1 and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == 2:
        return data + draw(st.binary(min_size=1, max_size=8))
    if how == 3 and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    if how == 4:
        return b"\x30\x84\xff\xff\xff\xff" + data[2:]
    if how == 5:
        return b"\x30\x80" + data[2:] + b"\x00\x00"  # BER indefinite length
    return data


def der_values(world: "W.World"):
    """DER, good and bad: real certificates, OCSP requests for real, negative
    and huge serials, nested junk; each possibly truncated or corrupted."""
    return cached(("der", id(world)), lambda: _der_values(world))


def _der_values(world):
    name_hash, key_hash = world.ocsp_issuer
    real_serials = [int(serial, 16) for serial in world.values.get("serial", []) if all(c in string.hexdigits for c in serial)]
    serial = st.one_of(
        st.sampled_from(real_serials or [1]),
        st.integers(min_value=-(2**64), max_value=-1),
        st.just(0),
        st.integers(min_value=2**159, max_value=2**400),
        st.integers(min_value=1, max_value=2**128),
    )
    request = st.tuples(
        st.lists(serial, min_size=1, max_size=3),
        st.one_of(st.just((name_hash, key_hash)), st.tuples(st.binary(min_size=20, max_size=20), st.binary(max_size=33))),
        st.sampled_from([SHA1, SHA1, SHA256, tlv(0x30, tlv(0x06, b"\x2a\x03"))]),
        st.one_of(st.none(), st.binary(max_size=0), st.binary(min_size=1, max_size=200)),
    ).map(_ocsp_request)
    base = st.one_of(
        request,
        request,
        st.sampled_from(world.der.get("certificate") or [b"\x30\x00"]),
        st.just(b"\x30" * 2000 + b"\x00" * 10),  # deep nesting
        st.binary(min_size=1, max_size=64).map(_sequence),
    )
    return mutated(base)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64_cut(data: bytes) -> str:
    return base64.b64encode(data).decode()[:-1]


def base64_values(world, max_bytes: int | None):
    return cached(("base64", id(world), max_bytes), lambda: _base64_values(world, max_bytes))


def _base64_values(world, max_bytes):
    sizes = [0, 1, 20, 32, 65]
    if max_bytes:
        sizes += [max_bytes - 1, max_bytes, max_bytes + 1, max_bytes * 2 + 3]
    blob = st.one_of(*(st.binary(min_size=n, max_size=n) for n in sizes), der_values(world))
    return st.one_of(blob.map(_b64), blob.map(_b64url), blob.map(_b64_cut), st.sampled_from(BAD_BASE64))


def number_values():
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(["0", "-1", "1", "1.5", "1e3", "0x10", "１", "9" * 30, "-" + "9" * 30, "+5", " 5 ", "5\x00"]),
    )


def field_value(world, name: str, spec):
    """One value for a form or query field: one of the app's own values (another
    person's identifiers among them), or a hostile one of the field's kind or any."""
    key = (spec.kind, spec.max_length, spec.max_bytes, tuple(spec.good)) if spec else None
    return cached(("field", id(world), name, key), lambda: _field_value(world, name, spec))


def _field_value(world, name, spec):
    """Mostly a good value (when the app offers or stores any), else hostile: a
    case then passes the first checks and reaches the deeper ones."""
    good = list(spec.good if spec else []) + list(world.values.get(name, []))
    good += world.values.get(name.rsplit("_", 1)[-1], []) if "_" in name else []
    if name == "challenge":
        good += world.values.get("token", [])
    kind = spec.kind if spec else "text"
    hostile = [HOSTILE] * 3
    if kind == "base64" or name in ("certificate", "signature", "public_key"):
        hostile += [base64_values(world, spec.max_bytes if spec else None)] * 4
    if kind in ("int", "choice") or name.endswith(("pk", "id", "amount", "index", "page")) or name in ("p", "o"):
        hostile += [number_values()] * 2
    if kind == "date":
        hostile += [st.dates().map(str), st.sampled_from(DATES)]
    if spec and spec.max_length:
        hostile += [st.sampled_from(["가" * spec.max_length, "가" * (spec.max_length + 1)])]
    if not good:
        return weighted(*((1, h) for h in hostile))
    return weighted((2 * len(hostile), st.sampled_from(good)), *((1, h) for h in hostile))


# --- Requests -----------------------------------------------------------------------------------


@dataclass
class Case:
    actor: str
    method: str
    path: str  # percent-encoded, with the query string
    content_type: str | None = None
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    repeat: int = 1
    csrf: bool = False

    def __repr__(self):
        body = self.body if len(self.body) <= 600 else self.body[:600] + b"...(%d bytes)" % len(self.body)
        return (
            f"Case(actor={self.actor!r}, method={self.method!r}, path={self.path[:800]!r}, content_type={self.content_type!r}, "
            f"body={body!r}, headers={self.headers!r}, cookies={self.cookies!r}, repeat={self.repeat}, csrf={self.csrf})"
        )

    def _repr_pretty_(self, printer, cycle):
        # Hypothesis prints dataclasses field by field; a 2.7 MB body is better cut short.
        printer.text(repr(self))


def quote(value, *, safe: str = "") -> str:
    return quote_from_bytes(encode(value), safe=safe)


def form_pairs(world, accepts_fields: dict, words=()):
    """(name, value) pairs: each known field given once (mostly), left out, or
    twice; sometimes fields nobody asked for. `words` (what the view's code
    compares with) serve as field names and values."""
    word = st.sampled_from(sorted(words) or ["x"])
    per_field = [(name, weighted((6, field_value(world, name, spec)), (1, word))) for name, spec in accepts_fields.items()]
    how = st.sampled_from([1] * 8 + [0, 2])  # times given
    names = sorted(world.values)
    extra = st.tuples(st.one_of(word, TEXT, st.sampled_from(names)), st.one_of(word, HOSTILE))

    @st.composite
    def build(draw):
        pairs = []
        for name, value in per_field:
            pairs += [(name, draw(value)) for _ in range(draw(how))]
        if not per_field or draw(st.integers(0, 3)) == 0:
            pairs += draw(st.lists(extra, min_size=1, max_size=3))
        return pairs

    return build()


def urlencoded(pairs) -> bytes:
    return b"&".join(quote(k).encode() + b"=" + quote(v).encode() for k, v in pairs)


def _json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=True).encode()


def _lists_or_dicts(children):
    return st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3))


WRONG_TYPES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    ),
    _lists_or_dicts,
    max_leaves=6,
)


def json_body(world, accepts_fields: dict):
    """A JSON object with the known names and values of the wrong type (a list
    for a string, an object for a number), or the right type."""
    names = sorted(accepts_fields) or sorted(world.values)[:5]
    value = st.one_of(WRONG_TYPES, TEXT)
    return st.one_of(
        st.dictionaries(st.sampled_from(names), value, max_size=len(names) + 1),
        WRONG_TYPES,
    ).map(_json)


FILE_NAMES = st.sampled_from(["signCert.der", "signPri.key", "../../x.der", "가.der", "a\x00.der", "x" * 300])


def multipart_body(world, accepts_fields: dict, words=()):
    pairs = form_pairs(world, accepts_fields, words)
    contents = st.one_of(der_values(world), st.binary(max_size=256))
    file_fields = st.sampled_from(sorted(accepts_fields) or ["file"])

    @st.composite
    def build(draw):
        data: dict = {}
        for name, value in draw(pairs):
            data.setdefault(str(name).replace("\x00", "") or "x", []).append(encode(value))
        for _ in range(draw(st.integers(0, 2))):
            upload = io.BytesIO(draw(contents))
            upload.name = draw(FILE_NAMES)
            data.setdefault(draw(file_fields), []).append(upload)
        try:
            return encode_multipart(BOUNDARY, data)
        except Exception:  # noqa: BLE001 - a name the encoder cannot write
            return encode_multipart(BOUNDARY, {})

    return build()


def body(world, accepts, endpoint):
    """(content type, body bytes) of a request with a body."""
    fields, words = accepts.post, accepts.words
    form = form_pairs(world, fields, words).map(urlencoded)
    raw_types = ["application/octet-stream", "application/ocsp-request", "text/plain", "x/\x7f", "application/json; charset=x"]
    options = [
        (8, st.tuples(st.just("application/x-www-form-urlencoded"), form)),
        (2, st.tuples(st.just(MULTIPART_CONTENT), multipart_body(world, fields, words))),
        (2, st.tuples(st.just("application/json"), json_body(world, fields))),
        (1, st.tuples(st.sampled_from(raw_types), st.one_of(der_values(world), RAW, HUGE.map(encode)))),
        (
            1,
            st.tuples(
                st.sampled_from(["application/x-www-form-urlencoded", MULTIPART_CONTENT]), st.one_of(RAW, HUGE.map(encode))
            ),
        ),
        (1, st.just(("application/x-www-form-urlencoded", b""))),
    ]
    if "ocsp" in endpoint.route:
        options.insert(0, (10, st.tuples(st.just("application/ocsp-request"), der_values(world))))
    return weighted(*options)


def query(world, accepts):
    if not accepts.query:
        return weighted((4, st.just("")), (1, form_pairs(world, {}, accepts.words).map(_query_string)))
    return weighted((1, st.just("")), (2, form_pairs(world, accepts.query, accepts.words).map(_query_string)))


def _query_string(pairs) -> str:
    return urlencoded(pairs).decode("ascii")


# --- Paths --------------------------------------------------------------------------------------


def ocsp_get_values(world):
    der = der_values(world)
    return st.one_of(
        der.map(_b64),
        der.map(_b64url),
        st.sampled_from(BAD_BASE64),
        TEXT,
    )


def param_values(world, endpoint, name: str, converter, actor: str | None = None):
    """Values for one path parameter: mostly real identifiers (the actor's own,
    another customer's at the same bank and at another bank), then values the
    converter accepts but nothing has (negative, huge, unknown), then junk it refuses."""
    regex = converter.regex
    real = list(world.path_values.get(name) or world.values.get(name, []))
    if name in ("pk", "object_id"):
        model = endpoint.admin_model
        real = [str(pk) for pk in world.pks.get(model, [])] if model else []
        real += [str(pk) for label, pks in world.pks.items() for pk in pks[:5] if label.split(".")[0] in ("banking", "accounts")]
    if name == "content_type_id":
        real = [str(pk) for pk in world.pks.get("contenttypes.ContentType", [])]
    real = [value for value in real if re.fullmatch(regex, value)]
    own = [value for value in world.own.get(actor, {}).get(name, []) if re.fullmatch(regex, value)]
    valid = st.from_regex(regex, fullmatch=True)
    if name == "encoded":
        return weighted((8, ocsp_get_values(world)), (1, valid), (1, TEXT))
    if not real:
        return weighted((8, valid), (1, TEXT), (1, RAW))
    mine = [(14, st.sampled_from(own))] if own else []
    return weighted(*mine, (10, st.sampled_from(real)), (2, valid), (1, TEXT), (1, RAW))


def path(world, endpoint, actor: str | None = None):
    parts = []
    for piece in endpoint.pieces():
        if piece[0] == "text":
            parts.append(st.just(piece[1]))
        elif piece[0] == "param":
            _kind, name, converter = piece
            parts.append(
                param_values(world, endpoint, name, converter, actor).map(
                    _quote_path if type(converter).__name__ == "PathConverter" else _quote
                )
            )
        else:
            parts.append(st.from_regex(piece[1], fullmatch=True).map(_quote_path))
    return st.tuples(*parts).map(_join_path)


def _quote(value) -> str:
    return quote(value)


def _quote_path(value) -> str:
    return quote(value, safe="/")


def _join_path(values) -> str:
    return "/" + "".join(values)


def actor_for(endpoint):
    """Staff mostly at the staff console; customers, then visitors, elsewhere; everyone everywhere."""
    if endpoint.staff:
        return st.sampled_from(W.STAFF_ACTORS * 4 + W.ACTORS)
    return st.sampled_from(W.CUSTOMER_ACTORS * 2 + (W.ANON,) * 2 + W.ACTORS)


HEADER_VALUES = st.one_of(st.sampled_from(["application/json", "text/html", "*/*", "application/json, text/plain"]), TEXT)


OTHER_METHODS = ["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]


def methods_for(accepts):
    """The method the endpoint's forms use most, the other one often, the rest now and then."""
    main, second = ("POST", "GET") if accepts.main_method == "POST" else ("GET", "POST")
    return st.sampled_from([main] * 12 + [second] * 5 + OTHER_METHODS)


COOKIE_NAMES = st.sampled_from(["certbank_device", "sessionid", "django_language", "csrftoken", "messages"])
REPEATS = st.sampled_from([1] * 18 + [2, 6])  # repeats reach the throttles' normal limits


def cases(world, endpoint, accepts):
    """One request (possibly repeated) at `endpoint` by one of the actors."""
    actors, queries, bodies = actor_for(endpoint), query(world, accepts), body(world, accepts, endpoint)
    methods = methods_for(accepts)
    paths = {actor: path(world, endpoint, actor) for actor in W.ACTORS}

    @st.composite
    def build(draw):
        actor = draw(actors)
        method = draw(methods)
        url = draw(paths[actor])
        qs = draw(queries)
        if qs:
            url += "?" + qs
        content_type, data = draw(bodies) if method in ("POST", "PUT", "PATCH") else (None, b"")
        headers = {}
        if draw(st.integers(0, 3)) == 0:
            headers["HTTP_ACCEPT"] = draw(HEADER_VALUES)
        if draw(st.integers(0, 9)) == 0:
            headers["HTTP_USER_AGENT"] = draw(TEXT)
        if draw(st.integers(0, 14)) == 0:
            headers["HTTP_X_FORWARDED_FOR"] = draw(TEXT)
        cookies = {}
        if draw(st.integers(0, 14)) == 0:
            cookies[draw(COOKIE_NAMES)] = draw(TEXT)
        # WSGI environ values are latin-1 strings: a header's UTF-8 bytes, as a server would pass them.
        headers = {k: encode(v).decode("latin-1") for k, v in headers.items()}
        return Case(actor, method, url, content_type, data, headers, cookies, draw(REPEATS), draw(st.integers(0, 19)) == 0)

    return build()
