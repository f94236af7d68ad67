"""Public pages of the demo CA: the certificates relying parties download."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from certificates import ca

# RFC 2585 §4.1 registers application/pkix-cert for DER certificates; PEM has
# no registered type, application/x-pem-file is the common one.
_CONTENT_TYPES = {"der": "application/pkix-cert", "pem": "application/x-pem-file"}
_FILE_NAMES = {"root": "certbank-root-ca", "issuing": "certbank-issuing-ca"}


@require_GET
def ca_index_view(request):
    return render(request, "certificates/ca_index.html")


@require_GET
def ca_certificate_view(request, which: str, encoding: str):
    # `which` and `encoding` come from the URLconf, never from the request.
    response = HttpResponse(ca.ca_certificate_bytes(which, encoding), content_type=_CONTENT_TYPES[encoding])
    response["Content-Disposition"] = f'attachment; filename="{_FILE_NAMES[which]}.{"crt" if encoding == "der" else "pem"}"'
    return response
