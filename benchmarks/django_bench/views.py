"""The list page: 20 items with their owners, for logged-in users."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Item


@login_required  # type: ignore[untyped-decorator]
def item_list(request: HttpRequest) -> HttpResponse:
    items = Item.objects.select_related("owner").order_by("id")[:20]
    return render(request, "django_bench/items.html", {"items": items, "page_title": "Items"})
