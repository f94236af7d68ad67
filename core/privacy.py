"""What the log and the audit log may keep of what a person typed into an
identifier field that matched nothing: its shape and a keyed digest (to see
the same text tried again), never the text, which is often a password typed
into the wrong field."""

from core.crypto import keyed_digest


def typed_shape(text: str) -> dict:
    text = text or ""
    classes = "".join(
        mark
        for mark, present in (
            ("a", any(ch.isascii() and ch.isalpha() for ch in text)),
            ("9", any(ch.isdigit() for ch in text)),
            ("!", any(not ch.isalnum() for ch in text)),
            ("가", any(not ch.isascii() and ch.isalpha() for ch in text)),
        )
        if present
    )
    return {"length": len(text), "classes": classes, "digest": keyed_digest(text, purpose="typed-identifier")[:16]}
