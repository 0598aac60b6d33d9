"""The ``bench`` add-on's two tables, mapped by Django (it does not manage them)."""

from django.db import models


class Owner(models.Model):  # type: ignore[misc]
    name = models.CharField(max_length=100)

    class Meta:
        db_table = "bench_owners"
        managed = False


class Item(models.Model):  # type: ignore[misc]
    name = models.CharField(max_length=100)
    price = models.IntegerField()
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE)

    class Meta:
        db_table = "bench_items"
        managed = False
