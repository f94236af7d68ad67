"""Client-side code: what a customer's own software does (an NPKI key store,
a protocol client). Nothing here runs in the server's request path."""
