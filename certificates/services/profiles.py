"""What differs between the two kinds of certificate, in one table, so that
each operation (issuance, renewal, status, registration) is written once.

DESIGN.md §1: a 공동인증서 is valid 1 year, its key kept by the customer (NPKI
key files, the browser's store), one per customer per issuing bank, renewed
by the customer from 30 days before expiry. A 금융인증서 is valid 3 years,
its key wrapped in the cloud under the PIN, one per person whichever bank
issued it, renewed automatically when used in its last 30 days.
"""

from dataclasses import dataclass

from certificates import ca
from certificates.models import Certificate


@dataclass(frozen=True)
class Profile:
    kind: str
    ca_kind: str  # what the CA signs; its validity is ca.validity_end(ca_kind, start)
    key_storage: str  # "customer" (NPKI files, the browser's store) or "cloud"
    one_per: str  # "holder_bank" or "person": the scope of the one-live-certificate rule
    issued: str  # the holder's notices
    reissued: str
    renewed: str
    renewal_names_expiry: bool  # an automatic renewal tells the new expiry date in its notice


PROFILES = {
    Certificate.Kind.JOINT: Profile(
        kind=Certificate.Kind.JOINT,
        ca_kind=ca.KIND_JOINT,
        key_storage="customer",
        one_per="holder_bank",
        issued="인증서가 발급되었습니다",
        reissued="인증서가 재발급되었습니다",
        renewed="인증서가 갱신되었습니다",
        renewal_names_expiry=False,
    ),
    Certificate.Kind.FINANCIAL: Profile(
        kind=Certificate.Kind.FINANCIAL,
        ca_kind=ca.KIND_FINANCIAL,
        key_storage="cloud",
        one_per="person",
        issued="금융인증서가 발급되었습니다",
        reissued="금융인증서가 재발급되었습니다",
        renewed="금융인증서가 자동 갱신되었습니다",
        renewal_names_expiry=True,
    ),
}


def profile_of(kind: str) -> Profile:
    return PROFILES[kind]
