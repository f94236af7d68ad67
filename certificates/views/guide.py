"""인증서 안내: which certificate to choose, and answers to the questions customers ask."""

from django.shortcuts import render


def guide_view(request):
    """Public: no login needed to read how certificates work."""
    return render(request, "certificates/guide.html")
