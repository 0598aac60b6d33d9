"""The blog's posts and the auth add-on's users, mapped by Django (it does not manage them)."""

from django.db import models


class Author(models.Model):  # type: ignore[misc]
    email = models.CharField(max_length=254)
    display_name = models.CharField(max_length=200)

    class Meta:
        db_table = "auth_users"
        managed = False


class Post(models.Model):  # type: ignore[misc]
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    hidden = models.BooleanField()

    class Meta:
        db_table = "blog_posts"
        managed = False
