"""The demo certification authority: the only code that signs.

One hierarchy trusted by every demo bank: a self-signed root and one issuing
CA for both certificate kinds (공동인증서, 금융인증서). The keys live in
DATA_DIR/ca/ as encrypted PKCS#8 PEM (passphrase: CERTBANK_CA_PASSPHRASE),
the certificates as PEM beside them. They are created on first use, under an
exclusive file lock so that concurrent processes create exactly one
hierarchy, and loaded once per process.

Profiles follow RFC 5280 and the demo subject form of DESIGN.md §1. The
issuing CA also signs the status of what it issued: full CRLs (RFC 5280 §5)
and OCSP responses (RFC 6960), both read from the Certificate records.
"""

from certificates.ca.hierarchy import (  # noqa: F401
    ISSUING_SUBJECT,
    ROOT_SUBJECT,
    ca_certificate_bytes,
    ca_issuing_certificate,
    ca_reset_cache,
    ca_root_certificate,
    hierarchy_current,
)
from certificates.ca.issuance import (  # noqa: F401
    KIND_FINANCIAL,
    KIND_JOINT,
    KIND_YEARS,
    KINDS,
    NPKI_IDENTIFY_DATA,
    POLICY_ARC,
    POLICY_NOTICE,
    POLICY_OIDS,
    CaAddresses,
    CertificateFacts,
    ca_addresses,
    certificate_facts,
    certificate_issue,
    validity_end,
)
from certificates.ca.revocation import (  # noqa: F401
    crl_current,
    crl_publish,
    ocsp_malformed_response,
    ocsp_respond,
)
